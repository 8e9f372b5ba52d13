//! Whom a client of the state service trusts, and where.
//!
//! The module and the CLI hand the state service every record they read or
//! write. A service run by anyone else could answer "no record" (a fresh
//! grace period under `required-for-all`) or keep every code fresh. So a
//! client only talks to a service whose peer credentials (`SO_PEERCRED`) are
//! root's or the database owner's, through a socket that user owns, in a
//! state directory no one else may write; and where any of that fails it
//! refuses with [`StoreError::Untrusted`] instead of falling back to opening a
//! database a stranger may control. The service, for its part, serves only
//! root and its own user.

use planasonix_core::store::StoreError;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::os::unix::net::UnixStream;
use std::path::Path;

/// The users a client accepts as the state service.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Trust {
    /// The database owner (besides root).
    pub owner: u32,
}

fn untrusted(why: String) -> StoreError {
    StoreError::Untrusted(why)
}

/// Refuses a directory that group or others may write (so could place or
/// swap entries in), naming it.
fn not_writable_by_others(
    what: &str,
    dir: &Path,
    meta: &std::fs::Metadata,
) -> Result<(), StoreError> {
    let mode = meta.mode() & 0o7777;
    if mode & 0o022 != 0 {
        return Err(untrusted(format!(
            "{what} {} has mode {mode:04o}: group or others may write it, so anyone could place a state service or database there (chmod go-w)",
            dir.display()
        )));
    }
    Ok(())
}

impl Trust {
    /// The trust for the database at `db`, after checking that neither the
    /// database directory nor the state directory holding its socket may be
    /// written by group or others. A missing directory is left for the
    /// store to report.
    pub fn of(db: &Path) -> Result<Trust, StoreError> {
        let state = db.parent().filter(|p| !p.as_os_str().is_empty());
        let state_meta = match state {
            Some(dir) => match std::fs::metadata(dir) {
                Ok(m) => {
                    not_writable_by_others("state directory", dir, &m)?;
                    Some(m)
                }
                Err(_) => None,
            },
            None => None,
        };
        let owner = match std::fs::metadata(db) {
            Ok(m) => {
                not_writable_by_others("database directory", db, &m)?;
                m.uid()
            }
            Err(_) => state_meta.map_or(0, |m| m.uid()),
        };
        Ok(Trust { owner })
    }

    /// Whether `uid` may be the state service.
    pub fn accepts(&self, uid: u32) -> bool {
        uid == 0 || uid == self.owner
    }

    /// Checks the socket file before connecting: it must be a socket owned by
    /// root or the database owner. `Ok(false)`: there is no socket.
    pub fn check_socket(&self, socket: &Path) -> Result<bool, StoreError> {
        let meta = match std::fs::symlink_metadata(socket) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
            Err(e) => {
                return Err(StoreError::os(
                    format_args!("state service {}", socket.display()),
                    &e,
                ))
            }
        };
        if !meta.file_type().is_socket() {
            return Err(untrusted(format!(
                "state service {} is not a socket",
                socket.display()
            )));
        }
        if !self.accepts(meta.uid()) {
            return Err(untrusted(format!(
                "state service socket {} is owned by uid {}, neither root nor the database owner (uid {})",
                socket.display(),
                meta.uid(),
                self.owner
            )));
        }
        Ok(true)
    }

    /// Checks who is at the other end of a connected socket.
    pub fn check_peer(&self, socket: &Path, stream: &UnixStream) -> Result<(), StoreError> {
        let uid = peer_uid(stream).map_err(|e| {
            untrusted(format!(
                "state service {}: cannot read its credentials: {e}",
                socket.display()
            ))
        })?;
        if self.accepts(uid) {
            Ok(())
        } else {
            Err(untrusted(format!(
                "state service {} runs as uid {uid}, neither root nor the database owner (uid {})",
                socket.display(),
                self.owner
            )))
        }
    }
}

/// The uid of the process at the other end of `stream` (`SO_PEERCRED`).
pub fn peer_uid(stream: &UnixStream) -> Result<u32, nix::Error> {
    nix::sys::socket::getsockopt(stream, nix::sys::socket::sockopt::PeerCredentials)
        .map(|c| c.uid())
}
