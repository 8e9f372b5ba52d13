//! The host's policy file (`/etc/planasonix/policy.toml`).
//!
//! The policy holds the exemptions: whoever can write it can turn MFA off for
//! any account. So the file in force must be owned by root and writable by
//! no one else, and so must the directory it lives in (which lets its entries
//! be replaced); anything else fails closed, naming the file and the reason.

use core::fmt;
use planasonix_core::policy::{Policy, PolicyError};
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// Largest policy file read.
const MAX_POLICY_BYTES: u64 = 1 << 20;

/// Why the policy in force cannot be used.
#[derive(Debug)]
#[non_exhaustive]
pub enum PolicyFileError {
    /// It does not exist.
    Missing(PathBuf),
    /// It cannot be read.
    Unreadable(PathBuf, std::io::Error),
    /// It, or its directory, may be changed by someone other than root.
    Unsafe {
        /// The file or directory.
        path: PathBuf,
        /// Why, in words an admin can act on.
        why: String,
    },
    /// It is larger than any policy.
    TooLarge(PathBuf),
    /// Its content is not a valid policy.
    Invalid(PathBuf, PolicyError),
}

impl fmt::Display for PolicyFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PolicyFileError::Missing(p) => write!(
                f,
                "policy {} does not exist; create it with `planasonix init`",
                p.display()
            ),
            PolicyFileError::Unreadable(p, e) => write!(f, "cannot read policy {}: {e}", p.display()),
            PolicyFileError::Unsafe { path, why } => write!(
                f,
                "policy {} is not trusted: {why} (the policy holds the exemptions: it and its directory must be owned by root and writable by no one else)",
                path.display()
            ),
            PolicyFileError::TooLarge(p) => write!(
                f,
                "policy {} is larger than {} KiB",
                p.display(),
                MAX_POLICY_BYTES / 1024
            ),
            PolicyFileError::Invalid(p, e) => write!(f, "policy {}: {e}", p.display()),
        }
    }
}

impl std::error::Error for PolicyFileError {}

/// Refuses `meta` unless root owns it and neither group nor others may write it.
pub(crate) fn root_only_writable(path: &Path, meta: &std::fs::Metadata) -> Result<(), String> {
    let _ = path;
    if meta.uid() != 0 {
        return Err(format!("it is owned by uid {}, not root", meta.uid()));
    }
    let mode = meta.mode() & 0o7777;
    if mode & 0o022 != 0 {
        return Err(format!(
            "mode {mode:04o} lets group or others write it (chmod go-w)"
        ));
    }
    Ok(())
}

/// Reads and validates the policy in force at `path`.
pub fn read_policy_file(path: &Path) -> Result<Policy, PolicyFileError> {
    let mut file = std::fs::File::open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => PolicyFileError::Missing(path.to_owned()),
        _ => PolicyFileError::Unreadable(path.to_owned(), e),
    })?;
    let meta = file
        .metadata()
        .map_err(|e| PolicyFileError::Unreadable(path.to_owned(), e))?;
    let unsafe_at = |p: &Path, why: String| PolicyFileError::Unsafe {
        path: p.to_owned(),
        why,
    };
    root_only_writable(path, &meta).map_err(|why| unsafe_at(path, why))?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        let dmeta =
            std::fs::metadata(dir).map_err(|e| PolicyFileError::Unreadable(dir.to_owned(), e))?;
        root_only_writable(dir, &dmeta)
            .map_err(|why| unsafe_at(dir, format!("its directory: {why}")))?;
    }
    if meta.len() > MAX_POLICY_BYTES {
        return Err(PolicyFileError::TooLarge(path.to_owned()));
    }
    let mut text = String::new();
    file.by_ref()
        .take(MAX_POLICY_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(|e| PolicyFileError::Unreadable(path.to_owned(), e))?;
    Policy::from_toml(&text).map_err(|e| PolicyFileError::Invalid(path.to_owned(), e))
}
