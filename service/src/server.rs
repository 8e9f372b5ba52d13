//! The state service (`planasonix serve`): one long-lived process keeps the
//! sled database open and serves it over `<db>.sock` to the PAM module and the
//! CLI on the same host. On a fleet host it serves the shared PostgreSQL
//! store the same way ([`StoreService::start_shared`]); then it is the only
//! way there, and clients never fall back.
//!
//! Without it, every login opens sled in a fresh process, twice (decide, then
//! verify); sled writes a snapshot per open, starts a thread pool, and admits
//! one process at a time, so logins cost milliseconds each and parallel logins
//! queue. Through the service a transaction is a few socket round trips and
//! one fsync. It is an optimisation, never a dependency: when nothing answers
//! on the socket, clients open the database directly as before
//! ([`planasonix_native::transaction`]).
//!
//! The service holds no key: records cross the socket sealed. The socket is
//! created mode 0600 beside the database (whose directory is 0700), so only
//! its owner can connect, and every connection's peer credentials are
//! checked besides: root and the service's own user are served, anyone else
//! is refused. Clients check the service the same way ([`planasonix_native::Trust`]). Every write is made durable before the client's
//! commit is answered; a client that disconnects without committing has its
//! writes flushed anyway. Killing the service loses nothing acknowledged, and
//! the socket it leaves behind refuses connections, so clients fall back.

use crate::postgres::PgStore;
use crate::seen::{seen_beside, RollbackGuard};
use planasonix_core::store::{Cas, IoKind, Store, StoreError, Swap};
use planasonix_native::peer_uid;
use planasonix_native::service::protocol::{
    read_frame, write_frame, Request, Response, MAX_REQUEST,
};
use planasonix_native::socket_beside;
use planasonix_native::store::SledStore;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Connections served at once; more are answered "busy".
pub const MAX_CONNECTIONS: usize = 256;
/// A connection that sends nothing for this long is closed.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// What the service serves: a store, what a write must check first, and how
/// a commit is made durable.
trait Served: std::fmt::Debug + Send + Sync + 'static {
    /// The records.
    fn store(&self) -> &dyn Store;
    /// Refuses a write that could not be made safely (a full disk).
    fn before_write(&self) -> Result<(), StoreError>;
    /// Makes every write accepted so far durable.
    fn commit(&self) -> Result<(), StoreError>;
}

/// The embedded database, with the directory its free space is measured on.
#[derive(Debug)]
struct Embedded {
    store: SledStore,
    db: PathBuf,
}

impl Served for Embedded {
    fn store(&self) -> &dyn Store {
        &self.store
    }
    fn before_write(&self) -> Result<(), StoreError> {
        SledStore::check_free_space(&self.db)
    }
    // sled's log is sequential: this makes everything accepted so far
    // durable, including writes this transaction read from others.
    fn commit(&self) -> Result<(), StoreError> {
        self.store.flush()
    }
}

/// Each statement on PostgreSQL commits on its own: a record, and the audit
/// events sent with it, are durable when it returns (the server's default
/// `synchronous_commit`); an audit event written alone is not waited for
/// (see `postgres/statements.rs`).
impl Served for RollbackGuard<PgStore> {
    fn store(&self) -> &dyn Store {
        self
    }
    fn before_write(&self) -> Result<(), StoreError> {
        Ok(())
    }
    fn commit(&self) -> Result<(), StoreError> {
        self.flush();
        Ok(())
    }
}

/// A bound, not yet serving, state service.
#[derive(Debug)]
pub struct StoreService {
    served: Arc<dyn Served>,
    socket: PathBuf,
    listener: UnixListener,
}

fn socket_error(what: &str, path: &Path, e: &io::Error) -> StoreError {
    StoreError::os(format_args!("{what} {}", path.display()), e)
}

impl StoreService {
    /// Opens the database at `db` (waiting up to `wait` for another process
    /// to release it) and listens on `<db>.sock`.
    pub fn start(db: &Path, wait: Duration) -> Result<StoreService, StoreError> {
        // sled's lock makes this the only process on the database, so any
        // socket already there was left by a service that has stopped.
        let store = SledStore::open_waiting(db, wait)?;
        let embedded = Embedded {
            store,
            db: db.to_path_buf(),
        };
        StoreService::listen(Arc::new(embedded), socket_beside(db))
    }

    /// Serves the shared PostgreSQL `store` on `<db>.sock`, refusing
    /// records older than the ones it wrote (its memory is `<db>.seen`, see
    /// [`crate::seen`]). Nothing opens sled at `db`: on a host whose store
    /// file names PostgreSQL, `db` is only where the socket lives. Any
    /// socket already there is replaced.
    pub fn start_shared(db: &Path, store: PgStore) -> Result<StoreService, StoreError> {
        let guarded = RollbackGuard::open(store, &seen_beside(db))?;
        StoreService::listen(Arc::new(guarded), socket_beside(db))
    }

    fn listen(served: Arc<dyn Served>, socket: PathBuf) -> Result<StoreService, StoreError> {
        let mut staging = socket.as_os_str().to_owned();
        staging.push(format!(".{}", std::process::id()));
        let staging = PathBuf::from(staging);
        let _ = std::fs::remove_file(&staging);
        // Bound under a private name and made 0600 before it is renamed into
        // place, so no client can ever reach it with wider permissions.
        let listener = UnixListener::bind(&staging)
            .map_err(|e| socket_error("cannot listen on", &staging, &e))?;
        let placed = std::fs::set_permissions(&staging, std::fs::Permissions::from_mode(0o600))
            .and_then(|()| std::fs::rename(&staging, &socket));
        if let Err(e) = placed {
            let _ = std::fs::remove_file(&staging);
            return Err(socket_error("cannot place socket", &socket, &e));
        }
        Ok(StoreService {
            served,
            socket,
            listener,
        })
    }

    /// Where clients connect.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// Serves until accepting fails for good; `report` hears of every client
    /// that broke the protocol and every error the service hit. Never returns
    /// in normal operation.
    ///
    /// One thread per connection, and always one more waiting in `accept`:
    /// the thread that accepts a connection serves it, after starting its
    /// successor. A connection is thus answered by the thread that was
    /// already awake for it, not handed to a new thread that must first be
    /// scheduled (on an idle virtual machine, a wake-up of the other core
    /// on every transaction).
    pub fn run(self, report: impl Fn(String) + Send + Sync + 'static) -> io::Error {
        let (failed, gave_up) = std::sync::mpsc::channel();
        let accepting = Arc::new(Accepting {
            listener: self.listener,
            served: self.served,
            report: Box::new(report),
            active: AtomicUsize::new(0),
            failed,
        });
        if let Err(e) = accepting.clone().start_successor() {
            return e;
        }
        gave_up
            .recv()
            .unwrap_or_else(|_| io::Error::other("every thread accepting connections has stopped"))
    }
}

/// What every accepting thread shares.
struct Accepting {
    listener: UnixListener,
    served: Arc<dyn Served>,
    report: Box<dyn Fn(String) + Send + Sync>,
    /// Connections being served.
    active: AtomicUsize,
    /// Where the thread that gives up on accepting says why.
    failed: std::sync::mpsc::Sender<io::Error>,
}

impl Accepting {
    fn start_successor(self: Arc<Self>) -> io::Result<()> {
        std::thread::Builder::new()
            .name("planasonix-conn".into())
            .spawn(move || self.lead())
            .map(drop)
    }

    /// Accepts the next connection, hands accepting on to a new thread and
    /// serves the connection; accepts again itself when no thread could be
    /// started. Gives up when accepting keeps failing.
    fn lead(self: Arc<Self>) {
        let mut consecutive_failures = 0u32;
        loop {
            let stream = match self.listener.accept() {
                Ok((stream, _)) => stream,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    // Out of file descriptors and the like: wait for
                    // connections to finish, give up only if it persists.
                    consecutive_failures += 1;
                    (self.report)(format!("accepting a connection failed: {e}"));
                    if consecutive_failures >= 100 {
                        let _ = self.failed.send(e);
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(100));
                    continue;
                }
            };
            consecutive_failures = 0;
            let succeeded = self.clone().start_successor();
            let slot = Slot::take(&self.active);
            if let Err(e) = serve_connection(&*self.served, stream, slot.over_limit) {
                (self.report)(e);
            }
            drop(slot);
            match succeeded {
                Ok(()) => return,
                Err(e) => (self.report)(format!("cannot start a connection thread: {e}")),
            }
        }
    }
}

/// One of the [`MAX_CONNECTIONS`] places, given back on drop.
struct Slot<'a> {
    active: &'a AtomicUsize,
    over_limit: bool,
}

impl Slot<'_> {
    fn take(active: &AtomicUsize) -> Slot<'_> {
        let before = active.fetch_add(1, Ordering::SeqCst);
        Slot {
            active,
            over_limit: before >= MAX_CONNECTIONS,
        }
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        self.active.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Answers one client until it hangs up; the error names what it did wrong.
fn serve_connection(
    served: &dyn Served,
    mut stream: UnixStream,
    over_limit: bool,
) -> Result<(), String> {
    let _ = stream.set_read_timeout(Some(IDLE_TIMEOUT));
    let _ = stream.set_write_timeout(Some(IDLE_TIMEOUT));
    // Only root and the service's own user may read or write records here,
    // whatever the socket's mode says.
    let me = nix::unistd::geteuid().as_raw();
    match peer_uid(&stream) {
        Ok(uid) if uid == 0 || uid == me => {}
        other => {
            let who = other.map_or_else(|e| format!("unknown ({e})"), |uid| uid.to_string());
            let why = format!(
                "refused a client running as uid {who}: only root and uid {me} may use the state service"
            );
            let _ = read_frame(&mut stream, MAX_REQUEST);
            let _ = write_frame(
                &mut stream,
                &Response::Failed(StoreError::Untrusted(why.clone())).encode(),
            );
            return Err(why);
        }
    }
    if over_limit {
        let _ = read_frame(&mut stream, MAX_REQUEST);
        let _ = write_frame(&mut stream, &Response::Failed(StoreError::Busy).encode());
        return Err(format!(
            "over {MAX_CONNECTIONS} connections at once; one was answered busy"
        ));
    }
    let mut dirty = false;
    let outcome = loop {
        let body = match read_frame(&mut stream, MAX_REQUEST) {
            Ok(Some(body)) => body,
            Ok(None) => break Ok(()),
            Err(e) => {
                let why = format!("unreadable request: {e}");
                let answer = Response::Failed(StoreError::io(IoKind::Unreachable, why.clone()));
                let _ = write_frame(&mut stream, &answer.encode());
                break Err(why);
            }
        };
        let (answer, fatal) = match Request::decode(&body) {
            Ok(request) => (handle(served, request, &mut dirty), None),
            Err(m) => {
                let why = format!("malformed request: {}", m.0);
                (
                    Response::Failed(StoreError::io(IoKind::Unreachable, why.clone())),
                    Some(why),
                )
            }
        };
        if let Err(e) = write_frame(&mut stream, &answer.encode()) {
            break Err(format!("client went away before its answer: {e}"));
        }
        if let Some(why) = fatal {
            break Err(why);
        }
    };
    // A client that died mid-transaction: its writes are records the engine
    // swapped whole, so they are kept like any other.
    if dirty {
        if let Err(e) = served.commit() {
            return Err(format!("flushing after a client left: {e}"));
        }
    }
    outcome
}

fn handle(served: &dyn Served, request: Request, dirty: &mut bool) -> Response {
    let answer = match request {
        Request::Get(key) => served.store().get(&key).map(Response::Value),
        Request::GetPastRollback(key) => {
            served.store().get_past_rollback(&key).map(Response::Value)
        }
        Request::Cas {
            key,
            expected,
            value,
        } => write(served, dirty, |store| {
            store
                .compare_and_swap(&key, expected, value.as_deref())
                .map(Response::Cas)
        }),
        Request::SwapAndAdd {
            key,
            expected,
            value,
            add,
        } => write(served, dirty, |store| {
            Ok(match store.swap_and_add(&key, expected, &value, &add)? {
                Swap::Conflict => Response::Cas(Cas::Conflict),
                Swap::Swapped { version, present } => Response::Swapped { version, present },
            })
        }),
        Request::Keys(prefix) => served.store().keys(&prefix).map(Response::Keys),
        Request::Commit => served.commit().map(|()| {
            *dirty = false;
            Response::Committed
        }),
    };
    answer.unwrap_or_else(Response::Failed)
}

/// A write: refused unless it can be made safely; once attempted, the
/// connection has something to commit.
fn write(
    served: &dyn Served,
    dirty: &mut bool,
    op: impl FnOnce(&dyn Store) -> Result<Response, StoreError>,
) -> Result<Response, StoreError> {
    served.before_write()?;
    *dirty = true;
    op(served.store())
}
