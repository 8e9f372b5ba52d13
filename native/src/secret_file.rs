//! One-line secrets in their own files: the database password, a gateway's
//! token or signing key. Such a file is a trusted secret
//! ([`crate::trusted_file`]): a regular file owned by root (or the user
//! reading it) that group and others cannot access, in a directory only its
//! owner may change; its one line is the secret, the trailing line break
//! dropped. The secret is wiped on drop.

use crate::trusted_file::{read_trusted, Kind, TrustedFileError};
use std::path::Path;
use zeroize::Zeroizing;

/// Largest secret file read.
const MAX_SECRET_BYTES: u64 = 4096;

/// Reads the one-line secret at `path`; `what` names it in errors ("the
/// database password").
pub fn read_secret_line(
    path: &Path,
    what: &'static str,
) -> Result<Zeroizing<String>, TrustedFileError> {
    let bytes = read_trusted(path, Kind::Secret, what, MAX_SECRET_BYTES)?;
    let invalid = |why: &str| TrustedFileError::Invalid {
        path: path.to_owned(),
        what,
        why: why.to_owned(),
    };
    let text = std::str::from_utf8(&bytes).map_err(|_| invalid("it is not UTF-8"))?;
    let secret = text.strip_suffix('\n').unwrap_or(text);
    let secret = secret.strip_suffix('\r').unwrap_or(secret);
    if secret.is_empty() || secret.contains(['\n', '\r', '\0']) {
        return Err(invalid("the file must hold one non-empty line"));
    }
    Ok(Zeroizing::new(secret.to_owned()))
}
