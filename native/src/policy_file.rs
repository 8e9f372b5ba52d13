//! The host's policy file (`/etc/planasonix/policy.toml`).
//!
//! The policy holds the exemptions: whoever can write it can turn MFA off for
//! any account. So the file in force must be owned by root and writable by
//! no one else, and so must the directory it lives in (which lets its entries
//! be replaced); anything else fails closed, naming the file and the reason.

use crate::trusted_file::{read_trusted_text, Kind, TrustedFileError};
use core::fmt;
use planasonix_core::policy::{Policy, PolicyError};
use std::path::{Path, PathBuf};

/// Largest policy file read.
const MAX_POLICY_BYTES: u64 = 1 << 20;

/// Why the policy in force cannot be used.
#[derive(Debug)]
#[non_exhaustive]
pub enum PolicyFileError {
    /// The file cannot be used: missing, unreadable, not trusted (it or its
    /// directory may be changed by someone other than root), too large.
    File(TrustedFileError),
    /// Its content is not a valid policy.
    Invalid(PathBuf, PolicyError),
}

impl fmt::Display for PolicyFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PolicyFileError::File(e @ TrustedFileError::Missing { .. }) => {
                write!(f, "{e}; create it with `planasonix init`")
            }
            PolicyFileError::File(e @ TrustedFileError::Untrusted { .. }) => write!(
                f,
                "{e} (the policy holds the exemptions: it and its directory must be owned by root and writable by no one else)"
            ),
            PolicyFileError::File(e) => e.fmt(f),
            PolicyFileError::Invalid(p, e) => write!(f, "policy {}: {e}", p.display()),
        }
    }
}

impl std::error::Error for PolicyFileError {}

/// Reads and validates the policy in force at `path`.
pub fn read_policy_file(path: &Path) -> Result<Policy, PolicyFileError> {
    let text = read_trusted_text(path, Kind::Setting, "policy", MAX_POLICY_BYTES)
        .map_err(PolicyFileError::File)?;
    Policy::from_toml(&text).map_err(|e| PolicyFileError::Invalid(path.to_owned(), e))
}
