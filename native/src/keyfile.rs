//! The root-only seal key file (`/etc/planasonix/seal.key`).

use core::fmt;
use planasonix_core::seal::{SealError, SealKey};
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// Why the key file cannot be used.
#[derive(Debug)]
#[non_exhaustive]
pub enum KeyFileError {
    /// It does not exist.
    Missing(PathBuf),
    /// It cannot be read (permissions, I/O).
    Unreadable(PathBuf, std::io::Error),
    /// Group or others may read or write it.
    TooOpen(PathBuf, u32),
    /// Someone other than root or the user reading it owns it.
    WrongOwner(PathBuf, u32),
    /// It is not a regular file.
    NotAFile(PathBuf),
    /// Its content is not a key.
    Malformed(PathBuf, SealError),
}

impl fmt::Display for KeyFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyFileError::Missing(p) => write!(
                f,
                "seal key {} does not exist; create it with `planasonix init`",
                p.display()
            ),
            KeyFileError::Unreadable(p, e) => {
                write!(f, "cannot read seal key {}: {e}", p.display())
            }
            KeyFileError::TooOpen(p, mode) => write!(
                f,
                "seal key {} has mode {mode:04o}: group and others must have no access (chmod 600)",
                p.display()
            ),
            KeyFileError::WrongOwner(p, uid) => write!(
                f,
                "seal key {} is owned by uid {uid}: it must be owned by root (or the user running this) (chown root)",
                p.display()
            ),
            KeyFileError::NotAFile(p) => {
                write!(f, "seal key {} is not a regular file", p.display())
            }
            KeyFileError::Malformed(p, e) => write!(f, "seal key {}: {e}", p.display()),
        }
    }
}

impl std::error::Error for KeyFileError {}

/// Loads the seal key, refusing a file that group or others can access or
/// that someone other than root or this process's user owns.
pub fn load_key_file(path: &Path) -> Result<SealKey, KeyFileError> {
    let mut file = std::fs::File::open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => KeyFileError::Missing(path.to_owned()),
        _ => KeyFileError::Unreadable(path.to_owned(), e),
    })?;
    let meta = file
        .metadata()
        .map_err(|e| KeyFileError::Unreadable(path.to_owned(), e))?;
    if !meta.is_file() {
        return Err(KeyFileError::NotAFile(path.to_owned()));
    }
    let mode = meta.mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(KeyFileError::TooOpen(path.to_owned(), mode));
    }
    // Whoever owns the key file can replace the key under every login.
    let me = nix::unistd::geteuid().as_raw();
    if meta.uid() != 0 && meta.uid() != me {
        return Err(KeyFileError::WrongOwner(path.to_owned(), meta.uid()));
    }
    let mut text = Zeroizing::new(Vec::with_capacity(128));
    file.by_ref()
        .take(4096)
        .read_to_end(&mut text)
        .map_err(|e| KeyFileError::Unreadable(path.to_owned(), e))?;
    SealKey::from_key_text(&text).map_err(|e| KeyFileError::Malformed(path.to_owned(), e))
}
