//! Reading a file that decides where logins go (the store file, the
//! delivery file): a regular file, in a directory only root may change,
//! read up to a bound. Public settings must be root's and writable by no one
//! else; settings that name secrets (the delivery file) must also be
//! unreadable by group and others, and may belong to the user reading them
//! (an identity provider's own account).

use crate::policy_file::root_only_writable;
use crate::store_file::StoreFileError;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// Who may read the file.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Readers {
    /// Anyone (it holds no secret): mode 0644 is fine.
    Anyone,
    /// Its owner only; the text names what others must not read.
    #[cfg_attr(not(feature = "gateway"), allow(dead_code))] // The delivery file's.
    Owner(&'static str),
}

/// The text of `path` (at most `max` bytes) after the checks above.
pub(crate) fn read_trusted(
    path: &Path,
    max: u64,
    readers: Readers,
) -> Result<String, StoreFileError> {
    let unreadable = |p: &Path, e| StoreFileError::Unreadable(p.to_owned(), e);
    let unsafe_at = |p: &Path, why: String| StoreFileError::Unsafe {
        path: p.to_owned(),
        why,
    };
    let mut file = std::fs::File::open(path).map_err(|e| unreadable(path, e))?;
    let meta = file.metadata().map_err(|e| unreadable(path, e))?;
    if !meta.is_file() {
        return Err(unsafe_at(path, "it is not a regular file".into()));
    }
    match readers {
        Readers::Anyone => root_only_writable(path, &meta).map_err(|why| unsafe_at(path, why))?,
        Readers::Owner(what) => {
            let me = nix::unistd::geteuid().as_raw();
            if meta.uid() != 0 && meta.uid() != me {
                return Err(unsafe_at(
                    path,
                    format!("it is owned by uid {}, not root (chown root)", meta.uid()),
                ));
            }
            let mode = meta.mode() & 0o7777;
            if mode & 0o077 != 0 {
                return Err(unsafe_at(
                    path,
                    format!(
                        "mode {mode:04o} lets group or others read or change {what} (chmod 600)"
                    ),
                ));
            }
        }
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        let dmeta = std::fs::metadata(dir).map_err(|e| unreadable(dir, e))?;
        root_only_writable(dir, &dmeta)
            .map_err(|why| unsafe_at(dir, format!("its directory: {why}")))?;
    }
    let mut text = String::new();
    file.by_ref()
        .take(max + 1)
        .read_to_string(&mut text)
        .map_err(|e| unreadable(path, e))?;
    if text.len() as u64 > max {
        return Err(StoreFileError::Invalid(
            path.to_owned(),
            format!("larger than {} KiB", max >> 10),
        ));
    }
    Ok(text)
}
