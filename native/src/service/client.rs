//! A [`Store`] served by `planasonix serve` over a Unix socket.
//!
//! Every call is one request and one answer on one connection, kept for one
//! short transaction. Values cross the socket sealed, exactly as they lie in
//! the database, so the service never sees a secret. A connection that failed
//! once is not trusted again: every later call on it fails, and the caller's
//! transaction fails closed.

use super::protocol::{read_frame, write_frame, Request, Response, MAX_RESPONSE};
use crate::trust::Trust;
use nix::errno::Errno;
use nix::sys::socket::{self, AddressFamily, SockFlag, SockType, UnixAddr};
use planasonix_core::store::{swap_then_add, Cas, IoKind, Store, StoreError, Swap, Versioned};
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A connection to the state service.
#[derive(Debug)]
pub struct RemoteStore {
    socket: PathBuf,
    wait: Duration,
    /// The whole transaction must be answered by then.
    deadline: Instant,
    /// `None` once a call has failed on the transport.
    stream: Mutex<Option<UnixStream>>,
    /// The service serves a shared store ([`RemoteStore::serving_shared`]).
    shared: bool,
    /// A write was sent on this connection: a commit has something to make
    /// durable.
    wrote: AtomicBool,
    /// Who may answer on the socket, for a reconnection.
    trust: Trust,
    /// The service predates [`Request::SwapAndAdd`] (it runs the previous
    /// release until the package's upgrade restarts it).
    older: AtomicBool,
}

/// How a service that predates [`Request::SwapAndAdd`] refuses it (and then
/// closes the connection).
const UNKNOWN_SWAP_AND_ADD: &str = "malformed request: unknown operation 5";

/// How a service that predates [`Request::GetPastRollback`] refuses it.
const UNKNOWN_GET_PAST_ROLLBACK: &str = "malformed request: unknown operation 6";

/// How often a client retries a connection the service's queue has no room for.
const RETRY_FULL_QUEUE: Duration = Duration::from_millis(2);

impl RemoteStore {
    /// Connects to the service at `socket`, trusting only what `trust`
    /// accepts; the whole transaction on the connection (connecting
    /// included) must be answered within `wait`. `Ok(None)`: nothing listens
    /// there (no socket, one left by a service that stopped, or one this user
    /// may not use), so the caller may open the database itself.
    ///
    /// Never hangs: a stalled service (stopped, or its connection queue
    /// full) fails the transaction once `wait` has passed.
    pub fn connect(
        socket: &Path,
        wait: Duration,
        trust: &Trust,
    ) -> Result<Option<RemoteStore>, StoreError> {
        #[allow(clippy::disallowed_methods)] // A deadline, not a time the engine sees.
        let deadline = Instant::now() + wait;
        if !trust.check_socket(socket)? {
            return Ok(None);
        }
        let io = |what: &str, e: &dyn std::fmt::Display| {
            StoreError::io(
                IoKind::Unreachable,
                format!("state service {}: {what}: {e}", socket.display()),
            )
        };
        let fd = socket::socket(
            AddressFamily::Unix,
            SockType::Stream,
            SockFlag::SOCK_CLOEXEC | SockFlag::SOCK_NONBLOCK,
            None,
        )
        .map_err(|e| io("cannot make a socket", &e))?;
        let addr = UnixAddr::new(socket).map_err(|e| io("bad socket path", &e))?;
        loop {
            match socket::connect(fd.as_raw_fd(), &addr) {
                Ok(()) => break,
                Err(Errno::EINTR) => continue,
                #[allow(clippy::disallowed_methods)] // A deadline.
                Err(Errno::EAGAIN) if Instant::now() < deadline => {
                    std::thread::sleep(RETRY_FULL_QUEUE)
                }
                Err(Errno::EAGAIN) => {
                    return Err(StoreError::io(
                        IoKind::Unreachable,
                        format!(
                        "state service {}: its connection queue stayed full for {} ms (stalled or overloaded)",
                        socket.display(),
                        wait.as_millis()
                    )))
                }
                Err(Errno::ENOENT | Errno::ECONNREFUSED | Errno::EACCES) => return Ok(None),
                Err(e) => return Err(io("cannot connect", &e)),
            }
        }
        let stream = UnixStream::from(fd);
        stream
            .set_nonblocking(false)
            .map_err(|e| io("cannot use the connection", &e))?;
        trust.check_peer(socket, &stream)?;
        Ok(Some(RemoteStore {
            socket: socket.to_path_buf(),
            wait,
            deadline,
            stream: Mutex::new(Some(stream)),
            shared: false,
            wrote: AtomicBool::new(false),
            trust: *trust,
            older: AtomicBool::new(false),
        }))
    }

    /// Marks the store behind the service as shared (this host's store file
    /// says so): its records must all be authenticated
    /// ([`Store::authenticated_only`]), whatever the database holds.
    pub fn serving_shared(mut self) -> RemoteStore {
        self.shared = true;
        self
    }

    /// Makes every write made through this connection durable. A
    /// transaction that wrote nothing has nothing to commit, and spares the
    /// round trip (a login's first transaction only reads). What it read of
    /// another client's writes is that client's to commit, before that
    /// client's caller hears of them: a reader that wrote nothing leaves
    /// nothing behind that a crash could contradict.
    pub fn commit(&self) -> Result<(), StoreError> {
        if !self.wrote.load(Ordering::Acquire) {
            return Ok(());
        }
        match self.call(&Request::Commit)? {
            Response::Committed => Ok(()),
            other => Err(self.unexpected(&other)),
        }
    }

    fn call(&self, request: &Request) -> Result<Response, StoreError> {
        let mut guard = self
            .stream
            .lock()
            .map_err(|_| self.broken("an earlier call panicked"))?;
        let stream = guard
            .as_mut()
            .ok_or_else(|| self.broken("an earlier call on this connection failed"))?;
        #[allow(clippy::disallowed_methods)] // A deadline.
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            *guard = None;
            return Err(self.broken(&format!("no answer within {} ms", self.wait.as_millis())));
        }
        let timeouts = stream
            .set_read_timeout(Some(left))
            .and_then(|()| stream.set_write_timeout(Some(left)));
        if let Err(e) = timeouts {
            *guard = None;
            return Err(self.transport(&e));
        }
        let answer = write_frame(stream, &request.encode())
            .and_then(|()| read_frame(stream, MAX_RESPONSE))
            .map_err(|e| self.transport(&e))
            .and_then(|body| {
                let body = body.ok_or_else(|| self.broken("it closed the connection"))?;
                Response::decode(&body)
                    .map_err(|m| self.broken(&format!("malformed answer ({})", m.0)))
            });
        match answer {
            Ok(Response::Failed(e)) => Err(e),
            Ok(response) => Ok(response),
            Err(e) => {
                *guard = None;
                Err(e)
            }
        }
    }

    /// A new connection in place of one the service closed, within what is
    /// left of the transaction's wait.
    fn reconnect(&self) -> Result<(), StoreError> {
        #[allow(clippy::disallowed_methods)] // A deadline.
        let left = self.deadline.saturating_duration_since(Instant::now());
        let fresh = RemoteStore::connect(&self.socket, left, &self.trust)?
            .ok_or_else(|| self.broken("it stopped answering"))?;
        let stream = fresh
            .stream
            .into_inner()
            .map_err(|_| self.broken("an earlier call panicked"))?;
        *self
            .stream
            .lock()
            .map_err(|_| self.broken("an earlier call panicked"))? = stream;
        Ok(())
    }

    fn transport(&self, e: &io::Error) -> StoreError {
        match e.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => {
                self.broken(&format!("no answer within {} ms", self.wait.as_millis()))
            }
            _ => self.broken(&e.to_string()),
        }
    }

    fn broken(&self, why: &str) -> StoreError {
        StoreError::io(
            IoKind::Unreachable,
            format!("state service {}: {why}", self.socket.display()),
        )
    }

    fn unexpected(&self, response: &Response) -> StoreError {
        let kind = match response {
            Response::Value(_) => "a value",
            Response::Cas(_) => "a swap result",
            Response::Keys(_) => "a key list",
            Response::Committed => "a commit",
            Response::Swapped { .. } => "a swap-and-add result",
            Response::Failed(_) => "an error",
        };
        self.broken(&format!("answered with {kind} to another request"))
    }
}

impl Store for RemoteStore {
    fn authenticated_only(&self) -> bool {
        self.shared
    }

    fn get(&self, key: &str) -> Result<Option<Versioned>, StoreError> {
        match self.call(&Request::Get(key.to_owned()))? {
            Response::Value(v) => Ok(v),
            other => Err(self.unexpected(&other)),
        }
    }

    /// One request, or, to a service of the previous release (which
    /// remembers nothing, so refuses no rollback), a plain get on a new
    /// connection.
    fn get_past_rollback(&self, key: &str) -> Result<Option<Versioned>, StoreError> {
        match self.call(&Request::GetPastRollback(key.to_owned())) {
            Ok(Response::Value(v)) => Ok(v),
            Ok(other) => Err(self.unexpected(&other)),
            Err(StoreError::Io(failure)) if failure.detail == UNKNOWN_GET_PAST_ROLLBACK => {
                self.reconnect()?;
                self.get(key)
            }
            Err(e) => Err(e),
        }
    }

    fn compare_and_swap(
        &self,
        key: &str,
        expected: Option<u64>,
        value: Option<&[u8]>,
    ) -> Result<Cas, StoreError> {
        // Set before the request leaves: a write whose answer was lost may
        // still have been made, and must be committed.
        self.wrote.store(true, Ordering::Release);
        let request = Request::Cas {
            key: key.to_owned(),
            expected,
            value: value.map(<[u8]>::to_vec),
        };
        match self.call(&request)? {
            Response::Cas(cas) => Ok(cas),
            other => Err(self.unexpected(&other)),
        }
    }

    /// One request, or, to a service of the previous release (which refuses
    /// it before doing anything and hangs up), separate ones on a new
    /// connection.
    fn swap_and_add(
        &self,
        key: &str,
        expected: Option<u64>,
        value: &[u8],
        add: &[(String, Vec<u8>)],
    ) -> Result<Swap, StoreError> {
        if !self.older.load(Ordering::Acquire) {
            self.wrote.store(true, Ordering::Release);
            let request = Request::SwapAndAdd {
                key: key.to_owned(),
                expected,
                value: value.to_vec(),
                add: add.to_vec(),
            };
            match self.call(&request) {
                Ok(Response::Cas(Cas::Conflict)) => return Ok(Swap::Conflict),
                Ok(Response::Swapped { version, present }) => {
                    return Ok(Swap::Swapped { version, present })
                }
                Ok(other) => return Err(self.unexpected(&other)),
                Err(StoreError::Io(failure)) if failure.detail == UNKNOWN_SWAP_AND_ADD => {
                    self.older.store(true, Ordering::Release);
                    self.reconnect()?;
                }
                Err(e) => return Err(e),
            }
        }
        swap_then_add(self, key, expected, value, add)
    }

    fn keys(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        match self.call(&Request::Keys(prefix.to_owned()))? {
            Response::Keys(keys) => Ok(keys),
            other => Err(self.unexpected(&other)),
        }
    }
}
