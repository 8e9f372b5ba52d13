//! One-line secrets in their own files: the database password, a gateway's
//! token or signing key. Such a file must be a regular file owned by root (or
//! the user reading it) that group and others cannot access; its one line is
//! the secret, the trailing line break dropped. The secret is wiped on drop.

use crate::store_file::StoreFileError;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use zeroize::Zeroizing;

/// Largest secret file read.
const MAX_SECRET_BYTES: u64 = 4096;

/// Reads the one-line secret at `path`; `what` names it in errors ("the
/// database password").
pub fn read_secret_line(path: &Path, what: &str) -> Result<Zeroizing<String>, StoreFileError> {
    let unreadable = |e| StoreFileError::Unreadable(path.to_owned(), e);
    let unsafe_because = |why: String| StoreFileError::Unsafe {
        path: path.to_owned(),
        why,
    };
    let mut file = std::fs::File::open(path).map_err(unreadable)?;
    let meta = file.metadata().map_err(unreadable)?;
    if !meta.is_file() {
        return Err(unsafe_because("it is not a regular file".into()));
    }
    let mode = meta.mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(unsafe_because(format!(
            "mode {mode:04o} lets group or others read {what} (chmod 600)"
        )));
    }
    let me = nix::unistd::geteuid().as_raw();
    if meta.uid() != 0 && meta.uid() != me {
        return Err(unsafe_because(format!(
            "it is owned by uid {}, not root (chown root)",
            meta.uid()
        )));
    }
    let mut bytes = Zeroizing::new(Vec::with_capacity(64));
    file.by_ref()
        .take(MAX_SECRET_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(unreadable)?;
    let invalid = |why: String| StoreFileError::Invalid(path.to_owned(), why);
    if bytes.len() as u64 > MAX_SECRET_BYTES {
        return Err(invalid(format!(
            "the file holding {what} is larger than {} KiB",
            MAX_SECRET_BYTES >> 10
        )));
    }
    let text = std::str::from_utf8(&bytes).map_err(|_| invalid(format!("{what} is not UTF-8")))?;
    let secret = text.strip_suffix('\n').unwrap_or(text);
    let secret = secret.strip_suffix('\r').unwrap_or(secret);
    if secret.is_empty() || secret.contains(['\n', '\r', '\0']) {
        return Err(invalid(format!(
            "the file must hold one non-empty line: {what}"
        )));
    }
    Ok(Zeroizing::new(secret.to_owned()))
}
