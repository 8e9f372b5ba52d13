//! Writing files whole or not at all, with the mode they must have.

use crate::error::{io_error, CliResult};
use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// What to do when the destination exists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Existing {
    /// Leave it; report [`Written::Kept`].
    Keep,
    /// Replace it atomically.
    Replace,
}

/// What [`write_file`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Written {
    /// A new file is in place.
    Created,
    /// The file existed and was left as it was.
    Kept,
}

fn temp_name(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}

/// Writes `bytes` to `path` with `mode`: first to a temporary file beside it,
/// synced, then linked (never overwriting) or renamed into place. A crash
/// leaves either the old state or the whole new file.
pub fn write_file(path: &Path, bytes: &[u8], mode: u32, existing: Existing) -> CliResult<Written> {
    if existing == Existing::Keep && fs::symlink_metadata(path).is_ok() {
        return Ok(Written::Kept);
    }
    let tmp = temp_name(path);
    let result = (|| -> io::Result<Written> {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&tmp)?;
        // The umask may have taken bits away; set exactly what was asked.
        file.set_permissions(fs::Permissions::from_mode(mode))?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        match existing {
            Existing::Keep => match fs::hard_link(&tmp, path) {
                Ok(()) => Ok(Written::Created),
                // Someone else created it meanwhile: theirs stays.
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(Written::Kept),
                Err(e) => Err(e),
            },
            Existing::Replace => fs::rename(&tmp, path).map(|()| Written::Created),
        }
    })();
    let _ = fs::remove_file(&tmp);
    result.map_err(|e| io_error("cannot write", path, &e))
}

/// Fails early when `path` could not be created because its directory is
/// missing, so a command does not start work it cannot finish.
pub fn check_parent(path: &Path) -> CliResult<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    match fs::metadata(dir) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(crate::error::CliError::failed(format!(
            "cannot write {}: {} is not a directory",
            path.display(),
            dir.display()
        ))),
        Err(e) => Err(io_error("cannot write to", dir, &e)),
    }
}
