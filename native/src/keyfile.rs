//! The root-only seal key file (`/etc/planasonix/seal.key`).

use crate::trusted_file::{read_trusted, read_trusted_text, Kind, TrustedFileError};
use core::fmt;
use planasonix_core::seal::{SealError, SealKey, CHECK_VALUE_TAG};
use std::path::{Path, PathBuf};

/// Largest key file read.
const MAX_KEY_BYTES: u64 = 4096;

/// Why the key file cannot be used.
#[derive(Debug)]
#[non_exhaustive]
pub enum KeyFileError {
    /// The file cannot be used: missing, unreadable, not trusted (group or
    /// others may access it, someone other than root or the user reading it
    /// owns it or its directory, not a regular file), too large.
    File(TrustedFileError),
    /// Its content is not a key.
    Malformed(PathBuf, SealError),
}

impl KeyFileError {
    /// Whether the key exists but is not trusted, or may not be read by
    /// this user: a permission problem rather than a broken key.
    pub fn is_permission(&self) -> bool {
        match self {
            KeyFileError::File(TrustedFileError::Untrusted { broken, .. }) => {
                !matches!(broken, crate::trusted_file::Broken::NotRegular)
            }
            KeyFileError::File(TrustedFileError::Unreadable { error, .. }) => {
                error.kind() == std::io::ErrorKind::PermissionDenied
            }
            _ => false,
        }
    }
}

impl fmt::Display for KeyFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyFileError::File(e @ TrustedFileError::Missing { .. }) => {
                write!(f, "{e}; create it with `planasonix init`")
            }
            KeyFileError::File(e) => e.fmt(f),
            KeyFileError::Malformed(p, e) => write!(f, "seal key {}: {e}", p.display()),
        }
    }
}

impl std::error::Error for KeyFileError {}

/// Loads the seal key: a trusted secret ([`crate::trusted_file`]), refused
/// when group or others can access it, when someone other than root or this
/// process's user owns it or its directory (they could replace the key
/// under every login), or when it is not a regular file.
pub fn load_key_file(path: &Path) -> Result<SealKey, KeyFileError> {
    let text =
        read_trusted(path, Kind::Secret, "seal key", MAX_KEY_BYTES).map_err(KeyFileError::File)?;
    SealKey::from_key_text(&text).map_err(|e| KeyFileError::Malformed(path.to_owned(), e))
}

/// Where the key's check value ([`SealKey::check_value`]) is kept for the
/// state service, which may not read the key itself: `<key>.check`, a
/// setting file (root's, mode 0644) that `planasonix init` writes.
pub fn check_file_beside(key: &Path) -> PathBuf {
    let mut name = key.as_os_str().to_owned();
    name.push(".check");
    PathBuf::from(name)
}

/// Largest check file read.
const MAX_CHECK_BYTES: u64 = 256;

/// The check value in `path`, a trusted setting; `Ok(None)` when there is
/// no such file (a host set up before there were any).
pub fn read_check_file(path: &Path) -> Result<Option<String>, TrustedFileError> {
    let what = "seal key check file";
    let text = match read_trusted_text(path, Kind::Setting, what, MAX_CHECK_BYTES) {
        Err(TrustedFileError::Missing { .. }) => return Ok(None),
        other => other?,
    };
    let value = text.trim();
    let mut words = value.split(' ');
    let well_formed = words.next() == Some(CHECK_VALUE_TAG)
        && words.next().is_some_and(|w| !w.is_empty())
        && words.next().is_none();
    if !well_formed {
        return Err(TrustedFileError::Invalid {
            path: path.to_owned(),
            what,
            why: format!(
                "it does not hold one line `{CHECK_VALUE_TAG} <base64>`; run `planasonix init` to write it again"
            ),
        });
    }
    Ok(Some(value.to_owned()))
}
