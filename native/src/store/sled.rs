//! The sled-backed store, opened for one short transaction at a time.
//!
//! sled lets one process open a database at a time. The PAM module and the CLI
//! therefore open it per transaction, keep it for milliseconds, and wait with
//! bounded, jittered backoff while another process holds it. The wasmtime host,
//! which is long-lived, keeps one handle open instead.

use crate::os::OsRandom;
use planasonix_core::random::below;
use planasonix_core::store::{
    decode_versioned, encode_versioned, Cas, IoKind, Store, StoreError, Versioned,
};
use std::path::Path;
use std::time::{Duration, Instant};

/// Free space a transaction needs on the database's filesystem.
pub const MIN_FREE_BYTES: u64 = 4 << 20;

/// How long a process waits for another to release the database by default.
pub const DEFAULT_BUSY_WAIT: Duration = Duration::from_secs(3);

/// A [`Store`] on a sled database.
#[derive(Debug, Clone)]
pub struct SledStore {
    db: sled::Db,
}

fn io(e: sled::Error) -> StoreError {
    StoreError::io(kind_of(&e), e.to_string())
}

/// [`io`] for the database at `path`, naming it.
fn at(path: &Path, e: sled::Error) -> StoreError {
    StoreError::io(kind_of(&e), format!("{}: {e}", path.display()))
}

fn kind_of(e: &sled::Error) -> IoKind {
    match e {
        sled::Error::Io(io) => IoKind::of(io.kind()),
        sled::Error::Corruption { .. } => IoKind::Corrupt,
        _ => IoKind::Other,
    }
}

/// Whether sled refused to open because another process holds the lock.
fn is_lock_conflict(e: &sled::Error) -> bool {
    match e {
        sled::Error::Io(io) => {
            io.kind() == std::io::ErrorKind::WouldBlock
                || io.raw_os_error() == Some(11)
                || io.to_string().contains("could not acquire lock")
        }
        _ => false,
    }
}

impl SledStore {
    /// Opens (creating if absent) the database at `path` for a long-lived
    /// handle, flushed in the background every 500 ms as well as by
    /// [`SledStore::flush`]. Another process holding it gives
    /// [`StoreError::Busy`].
    pub fn open(path: &Path) -> Result<SledStore, StoreError> {
        SledStore::open_with(path, Some(500))
    }

    /// Opens for one short transaction: no background flusher, whose thread
    /// would keep the database (and its lock) alive after the handle is
    /// dropped; [`SledStore::transaction`] flushes before it closes.
    fn open_short(path: &Path) -> Result<SledStore, StoreError> {
        SledStore::open_with(path, None)
    }

    fn open_with(path: &Path, flush_every_ms: Option<u64>) -> Result<SledStore, StoreError> {
        let open = || {
            sled::Config::new()
                .path(path)
                .mode(sled::Mode::LowSpace)
                .cache_capacity(4 << 20)
                .flush_every_ms(flush_every_ms)
                .open()
        };
        let db = match open() {
            Err(sled::Error::Corruption { .. }) if set_aside_torn_snapshots(path)? => open(),
            other => other,
        }
        .map_err(|e| {
            if is_lock_conflict(&e) {
                StoreError::Busy
            } else {
                at(path, e)
            }
        })?;
        Ok(SledStore { db })
    }

    /// Opens the database for a short transaction, waiting up to `wait` while
    /// another process holds it: polls every 1–8 ms (jittered, doubling to 8 ms),
    /// so a waiter gets in within milliseconds of the holder closing, even with
    /// dozens of logins queued.
    pub fn open_waiting(path: &Path, wait: Duration) -> Result<SledStore, StoreError> {
        #[allow(clippy::disallowed_methods)] // A deadline, not a time the engine sees.
        let start = Instant::now();
        let mut rng = OsRandom::new();
        let mut pause_us: u32 = 1_000;
        loop {
            match SledStore::open_short(path) {
                Err(StoreError::Busy) if start.elapsed() < wait => {
                    let jitter = below(&mut rng, pause_us).unwrap_or(0);
                    let pause = Duration::from_micros(u64::from(pause_us / 2 + jitter));
                    std::thread::sleep(pause.min(wait.saturating_sub(start.elapsed())));
                    pause_us = (pause_us * 2).min(8_000);
                }
                other => return other,
            }
        }
    }

    /// Refuses to open a database whose filesystem is (nearly) full: sled
    /// 0.34 corrupts its files when a write fails for lack of space, and the
    /// database then stays unreadable after space is freed (found by
    /// pam-module/tests/faults.rs). Refusing first keeps it intact.
    ///
    /// The space counted is what this process may really write: root (or the
    /// state service, through CAP_SYS_RESOURCE) may use the filesystem's
    /// reserved blocks, so for them it is every free block (`f_bfree`), for
    /// anyone else the unreserved ones (`f_bavail`). Counting
    /// only the latter let any local user who filled the filesystem (a
    /// shared `/var`, say) deny every login, root's and break-glass included.
    pub fn check_free_space(path: &Path) -> Result<(), StoreError> {
        let existing = path.ancestors().find(|p| p.exists()).unwrap_or(path);
        match writable_bytes(existing) {
            Ok(free) if free < MIN_FREE_BYTES => Err(StoreError::io(
                IoKind::NoSpace,
                format!(
                    "{}: only {} KiB free on its filesystem, {} KiB needed; free some space",
                    path.display(),
                    free / 1024,
                    MIN_FREE_BYTES / 1024
                ),
            )),
            // Unknown free space: let sled try.
            _ => Ok(()),
        }
    }

    /// Opens the database, runs `work`, flushes, and closes it again.
    pub fn transaction<T, E: From<StoreError>>(
        path: &Path,
        wait: Duration,
        work: impl FnOnce(&SledStore) -> Result<T, E>,
    ) -> Result<T, E> {
        SledStore::check_free_space(path)?;
        let store = SledStore::open_waiting(path, wait)?;
        let out = work(&store);
        store.flush()?;
        drop(store);
        give_back_to_owner(path)?;
        out
    }

    /// Writes everything to disk.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.db.flush().map(|_| ()).map_err(io)
    }
}

/// Removes the snapshot files a killed process left half-written; returns
/// whether there were any.
///
/// sled 0.34 writes a snapshot to `snap.<lsn>.generating`, syncs it, and
/// renames it to `snap.<lsn>`. A process killed before the rename (a login
/// whose client hung up, a service stopped with SIGKILL) leaves the
/// `.generating` file behind, and sled reads the newest snapshot file it finds,
/// that one included: the database is then refused as corrupt on every open,
/// for good (pam-module/tests/crash.rs found it; native/tests/torn_snapshot.rs
/// shows it). A snapshot only shortens recovery: everything it holds is also
/// in sled's log, which sled replays from the last complete snapshot. So
/// after sled has refused the database as corrupt, the torn files go and the
/// open is tried again; any other corruption still refuses it.
///
/// The removal happens only while this process holds sled's own lock (an
/// exclusive `flock` on `<db>/db`, which sled released when it refused): so
/// no other process is writing a snapshot meanwhile, and of logins racing
/// after a crash one removes the file and the others wait and open. Another
/// process holding the lock gives [`StoreError::Busy`], and the caller waits.
fn set_aside_torn_snapshots(db: &Path) -> Result<bool, StoreError> {
    use nix::fcntl::{Flock, FlockArg};
    let file = match std::fs::File::open(db.join("db")) {
        Ok(f) => f,
        // No data file: whatever sled found corrupt, it is not this.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(StoreError::os(db.join("db").display(), &e)),
    };
    let _held = match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
        Ok(held) => held,
        Err((_, nix::errno::Errno::EWOULDBLOCK)) => return Err(StoreError::Busy),
        Err((_, e)) => {
            return Err(StoreError::io(
                IoKind::Other,
                format!("{}: cannot lock the database: {e}", db.display()),
            ))
        }
    };
    let entries = std::fs::read_dir(db).map_err(|e| StoreError::os(db.display(), &e))?;
    let mut removed = false;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let torn = name
            .to_str()
            .is_some_and(|n| n.starts_with("snap.") && n.ends_with(".generating"));
        if torn && entry.file_type().is_ok_and(|t| t.is_file()) {
            match std::fs::remove_file(entry.path()) {
                Ok(()) => removed = true,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => removed = true,
                Err(e) => {
                    return Err(StoreError::os(
                        format_args!("{}: cannot remove a torn snapshot", entry.path().display()),
                        &e,
                    ))
                }
            }
        }
    }
    Ok(removed)
}

/// Whether this process may use blocks the filesystem reserves for root:
/// root, or a process holding CAP_SYS_RESOURCE (the state service's only
/// capability, for exactly this).
fn may_use_reserve() -> bool {
    if nix::unistd::geteuid().is_root() {
        return true;
    }
    const CAP_SYS_RESOURCE: u32 = 24;
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("CapEff:"))
                .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        })
        .is_some_and(|caps| caps & (1 << CAP_SYS_RESOURCE) != 0)
}

/// After root has used a database owned by another user (the state
/// service's, with the service stopped), hands every file root created there
/// back to that owner, so the service can open it again. The database
/// directory is the owner's; nothing is followed out of it.
fn give_back_to_owner(db: &Path) -> Result<(), StoreError> {
    use std::os::unix::fs::MetadataExt;
    if !nix::unistd::geteuid().is_root() {
        return Ok(());
    }
    let dir = std::fs::symlink_metadata(db).map_err(|e| StoreError::os(db.display(), &e))?;
    if dir.uid() == 0 || !dir.is_dir() {
        return Ok(());
    }
    let (uid, gid) = (dir.uid(), dir.gid());
    let mut pending = vec![db.to_path_buf()];
    while let Some(d) = pending.pop() {
        let entries = std::fs::read_dir(&d).map_err(|e| StoreError::os(d.display(), &e))?;
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(meta) = std::fs::symlink_metadata(&path) else {
                continue;
            };
            // Only what root made here: a file with other links may be one
            // the owner planted to something of root's elsewhere (a hardlink
            // to /etc/shadow), which must never change hands.
            if meta.uid() == 0 && (meta.is_dir() || meta.nlink() == 1) {
                std::os::unix::fs::lchown(&path, Some(uid), Some(gid)).map_err(|e| {
                    StoreError::os(
                        format_args!("cannot give {} back to uid {uid}", path.display()),
                        &e,
                    )
                })?;
            }
            if meta.is_dir() {
                pending.push(path);
            }
        }
    }
    Ok(())
}

/// Bytes this process may still write on the filesystem holding `path`.
fn writable_bytes(path: &Path) -> Result<u64, nix::Error> {
    let st = nix::sys::statvfs::statvfs(path)?;
    let blocks = if may_use_reserve() {
        st.blocks_free()
    } else {
        st.blocks_available()
    };
    Ok(blocks.saturating_mul(st.fragment_size()))
}

impl Store for SledStore {
    fn get(&self, key: &str) -> Result<Option<Versioned>, StoreError> {
        match self.db.get(key.as_bytes()).map_err(io)? {
            Some(raw) => Ok(Some(decode_versioned(key, &raw)?)),
            None => Ok(None),
        }
    }

    fn compare_and_swap(
        &self,
        key: &str,
        expected: Option<u64>,
        value: Option<&[u8]>,
    ) -> Result<Cas, StoreError> {
        let current = self.db.get(key.as_bytes()).map_err(io)?;
        let current_version = match &current {
            Some(raw) => Some(decode_versioned(key, raw)?.version),
            None => None,
        };
        if current_version != expected {
            return Ok(Cas::Conflict);
        }
        let next = current_version.unwrap_or(0) + 1;
        let new = value.map(|v| encode_versioned(next, v));
        match self
            .db
            .compare_and_swap(key.as_bytes(), current, new)
            .map_err(io)?
        {
            Ok(()) => Ok(Cas::Swapped(next)),
            Err(_) => Ok(Cas::Conflict),
        }
    }

    fn keys(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        self.db
            .scan_prefix(prefix.as_bytes())
            .keys()
            .map(|k| {
                let k = k.map_err(io)?;
                String::from_utf8(k.to_vec()).map_err(|_| StoreError::Corrupt {
                    key: String::from_utf8_lossy(&k).into_owned(),
                    detail: "key is not UTF-8".into(),
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meets_the_store_contract() {
        let dir = planasonix_testkit::TempDir::new("sled-contract");
        let store = SledStore::open(&dir.join("db")).unwrap();
        planasonix_testkit::check_store(&store);
        drop(store);
    }
}
