//! The audit trail as an append-only JSON-lines file beside the database.
//!
//! A login appends a line or two; nothing is read back on the login path, so
//! history costs the login nothing, unlike events kept in the sled database,
//! whose open time grows with every key in it (18 ms at 10,000 users with 50
//! events each, against 2 ms without). The file is mode 0600; past
//! [`FileTrail::MAX_BYTES`] it is renamed to `<name>.1` (replacing the older
//! one), so the trail is bounded at twice that.
//!
//! Many processes append at once: PAM logins that open the database
//! themselves, and, with the state service, every client (the engine runs in
//! the client, which appends here after the service committed its change).
//! So every append, and the rotation it may do, runs under an exclusive
//! `flock` on `<name>.lock`, and reading both files under a shared one. The
//! lock is on a file of its own because the trail itself is renamed: a lock on
//! it would follow the old file to `<name>.1` while the next writer locked the
//! new one. Under the lock, appends happen one at a time, so:
//!
//! * no line is lost while at most one rotation happens: what `<name>.1` and
//!   `<name>` hold together is every line appended since, in append order;
//! * in general, the lines kept are a suffix of the append order with no gaps:
//!   a rotation drops only what the previous rotation moved to `<name>.1`,
//!   which is older than every line kept, and `<name>.1` always holds at
//!   least the size limit (a rotation happens only past it).
//!
//! A writer holding the lock too long (a stopped process) makes others give
//! up after [`FileTrail::LOCK_WAIT`]: their events are reported as not kept,
//! and the login goes on.

use nix::fcntl::OFlag;
use planasonix_core::audit::AuditEvent;
use planasonix_core::store::{IoKind, StoreError};
use planasonix_core::trail::AuditTrail;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{ErrorKind, Read, Write};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Audit events in `<database>.audit.jsonl`.
#[derive(Debug, Clone)]
pub struct FileTrail {
    path: PathBuf,
    max_bytes: u64,
}

fn io_error(what: &str, path: &Path, e: &std::io::Error) -> StoreError {
    StoreError::os(format_args!("{what} {}", path.display()), e)
}

impl FileTrail {
    /// Size past which the file is rotated.
    pub const MAX_BYTES: u64 = 64 << 20;

    /// How long an append or a read waits for another process's lock.
    pub const LOCK_WAIT: Duration = Duration::from_secs(2);

    /// The trail of the database at `db`: `<db>.audit.jsonl`.
    pub fn beside(db: &Path) -> FileTrail {
        let mut name = db.as_os_str().to_owned();
        name.push(".audit.jsonl");
        FileTrail {
            path: PathBuf::from(name),
            max_bytes: FileTrail::MAX_BYTES,
        }
    }

    /// Rotates past `max_bytes` instead of [`FileTrail::MAX_BYTES`].
    pub fn with_max_bytes(mut self, max_bytes: u64) -> FileTrail {
        self.max_bytes = max_bytes;
        self
    }

    /// The current file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn rotated(&self) -> PathBuf {
        self.sibling(".1")
    }

    fn sibling(&self, suffix: &str) -> PathBuf {
        let mut name = self.path.as_os_str().to_owned();
        name.push(suffix);
        PathBuf::from(name)
    }

    fn open_for_append(&self) -> Result<File, StoreError> {
        OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .mode(0o600)
            .custom_flags(OFlag::O_NOFOLLOW.bits())
            .open(&self.path)
            .map_err(|e| io_error("cannot open audit trail", &self.path, &e))
    }

    /// Holds `<name>.lock`, exclusively or shared, until the file is dropped.
    fn lock(&self, exclusive: bool) -> Result<File, StoreError> {
        let path = self.sibling(".lock");
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .mode(0o600)
            .custom_flags(OFlag::O_NOFOLLOW.bits())
            .open(&path)
            .map_err(|e| io_error("cannot open audit trail lock", &path, &e))?;
        let deadline = Instant::now() + FileTrail::LOCK_WAIT;
        let mut pause = Duration::from_millis(1);
        loop {
            let tried = if exclusive {
                file.try_lock()
            } else {
                file.try_lock_shared()
            };
            match tried {
                Ok(()) => return Ok(file),
                Err(TryLockError::WouldBlock) if Instant::now() < deadline => {
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(20));
                }
                Err(TryLockError::WouldBlock) => {
                    return Err(StoreError::io(
                        IoKind::Other,
                        format!(
                            "audit trail {} still locked by another process after {} s",
                            self.path.display(),
                            FileTrail::LOCK_WAIT.as_secs()
                        ),
                    ))
                }
                Err(TryLockError::Error(e)) => {
                    return Err(io_error("cannot lock audit trail", &path, &e))
                }
            }
        }
    }

    /// Lines of one file; a missing file has none. A line cut short by a
    /// crash does not parse and is skipped.
    fn read_file(
        path: &Path,
        user: Option<&str>,
        out: &mut Vec<AuditEvent>,
    ) -> Result<(), StoreError> {
        let mut text = Vec::new();
        match File::open(path) {
            Ok(mut f) => f
                .read_to_end(&mut text)
                .map_err(|e| io_error("cannot read audit trail", path, &e))?,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(io_error("cannot read audit trail", path, &e)),
        };
        for line in text.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            if let Ok(event) = serde_json::from_slice::<AuditEvent>(line) {
                if user.is_none_or(|u| event.user == u) {
                    out.push(event);
                }
            }
        }
        Ok(())
    }
}

impl AuditTrail for FileTrail {
    fn append(&self, _user: &str, _first: u64, events: &[AuditEvent]) -> Result<(), StoreError> {
        let _lock = self.lock(true)?;
        // Opened under the lock, so this is the file no rotation has moved.
        let mut file = self.open_for_append()?;
        let meta = file
            .metadata()
            .map_err(|e| io_error("cannot stat audit trail", &self.path, &e))?;
        let mut size = meta.len();
        if size >= self.max_bytes {
            std::fs::rename(&self.path, self.rotated())
                .map_err(|e| io_error("cannot rotate audit trail", &self.path, &e))?;
            file = self.open_for_append()?;
            size = 0;
        }
        let mut buf = Vec::with_capacity(256 * events.len());
        // A line cut short by a crash must not swallow the next event. Every
        // writer holds the lock, so the last byte is the last one written.
        let mut last = [0u8; 1];
        if size > 0 && file.read_at(&mut last, size - 1).is_ok_and(|n| n == 1) && last[0] != b'\n' {
            buf.push(b'\n');
        }
        for event in events {
            serde_json::to_writer(&mut buf, event)
                .map_err(|e| StoreError::io(IoKind::Other, e.to_string()))?;
            buf.push(b'\n');
        }
        file.write_all(&buf)
            .map_err(|e| io_error("cannot write audit trail", &self.path, &e))
    }

    fn events(&self, user: Option<&str>) -> Result<Vec<AuditEvent>, StoreError> {
        let mut out = Vec::new();
        // No rotation between the two reads.
        let _lock = self.lock(false)?;
        FileTrail::read_file(&self.rotated(), user, &mut out)?;
        FileTrail::read_file(&self.path, user, &mut out)?;
        Ok(out)
    }
}
