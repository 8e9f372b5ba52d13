//! Short transactions on the database, through the state service when one
//! serves it, directly on the sled files otherwise; on a host whose store is
//! shared (PostgreSQL), through the state service only.

use crate::service::client::RemoteStore;
use crate::store::SledStore;
use crate::trust::Trust;
use planasonix_core::store::{IoKind, Store, StoreError};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The state service's socket for the database at `db`: `<db>.sock`.
pub fn socket_beside(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(".sock");
    PathBuf::from(name)
}

/// Runs `work` in one short transaction on the database at `db` and makes
/// what it wrote durable (even when `work` fails: a failed code's lockout
/// count must stick).
///
/// When `planasonix serve` listens on `<db>.sock`, the transaction goes
/// through it; when nothing answers there (no service, or a socket left by one
/// that stopped), the database is opened here, waiting up to `wait` for
/// another process to release it ([`SledStore::transaction`]). A service,
/// socket or directory this process must not trust ([`Trust`]) is refused
/// with [`StoreError::Untrusted`], never fallen back from.
pub fn transaction<T, E: From<StoreError>>(
    db: &Path,
    wait: Duration,
    work: impl FnOnce(&dyn Store) -> Result<T, E>,
) -> Result<T, E> {
    let trust = Trust::of(db)?;
    match RemoteStore::connect(&socket_beside(db), wait, &trust)? {
        Some(remote) => on_service(&remote, work),
        None => SledStore::transaction(db, wait, |store| work(store)),
    }
}

/// Runs `work` through the state service and commits, also when `work`
/// failed (what it wrote must stick).
fn on_service<T, E: From<StoreError>>(
    remote: &RemoteStore,
    work: impl FnOnce(&dyn Store) -> Result<T, E>,
) -> Result<T, E> {
    let out = work(remote);
    remote.commit()?;
    out
}

/// [`transaction`] on a host whose store is shared (the store file names
/// PostgreSQL): through `planasonix serve` on `<db>.sock` only. When nothing
/// answers there this fails with [`StoreError::Io`] (`Unreachable`) and
/// opens nothing: a sled database here would be a second, diverging copy of
/// the fleet's records.
pub fn shared_transaction<T, E: From<StoreError>>(
    db: &Path,
    wait: Duration,
    work: impl FnOnce(&dyn Store) -> Result<T, E>,
) -> Result<T, E> {
    let trust = Trust::of(db)?;
    let socket = socket_beside(db);
    match RemoteStore::connect(&socket, wait, &trust)? {
        Some(remote) => on_service(&remote.serving_shared(), work),
        None => Err(StoreError::io(
            IoKind::Unreachable,
            format!(
                "this host's store is shared (PostgreSQL) and is reached only through `planasonix serve`, which does not answer on {}: start it (systemctl start planasonix)",
                socket.display()
            ),
        )
        .into()),
    }
}
