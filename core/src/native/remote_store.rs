//! A [`Store`] served by `planasonix serve` over a Unix socket.
//!
//! Every call is one request and one answer on one connection, kept for one
//! short transaction. Values cross the socket sealed, exactly as they lie in
//! the database, so the service never sees a secret. A connection that failed
//! once is not trusted again: every later call on it fails, and the caller's
//! transaction fails closed.

use super::wire::{read_frame, write_frame, Request, Response, MAX_RESPONSE};
use crate::store::{Cas, Store, StoreError, Versioned};
use std::io;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

/// A connection to the state service.
#[derive(Debug)]
pub struct RemoteStore {
    socket: PathBuf,
    timeout: Duration,
    /// `None` once a call has failed on the transport.
    stream: Mutex<Option<UnixStream>>,
}

impl RemoteStore {
    /// Connects to the service at `socket`; each answer may take up to
    /// `timeout`. Fails when nothing listens there (no socket, or one left by
    /// a service that has stopped).
    pub fn connect(socket: &Path, timeout: Duration) -> io::Result<RemoteStore> {
        let stream = UnixStream::connect(socket)?;
        stream.set_read_timeout(Some(timeout))?;
        stream.set_write_timeout(Some(timeout))?;
        Ok(RemoteStore {
            socket: socket.to_path_buf(),
            timeout,
            stream: Mutex::new(Some(stream)),
        })
    }

    /// Makes every write made through this connection durable.
    pub fn commit(&self) -> Result<(), StoreError> {
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

    fn transport(&self, e: &io::Error) -> StoreError {
        match e.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => {
                self.broken(&format!("no answer within {} ms", self.timeout.as_millis()))
            }
            _ => self.broken(&e.to_string()),
        }
    }

    fn broken(&self, why: &str) -> StoreError {
        StoreError::Io(format!("state service {}: {why}", self.socket.display()))
    }

    fn unexpected(&self, response: &Response) -> StoreError {
        let kind = match response {
            Response::Value(_) => "a value",
            Response::Cas(_) => "a swap result",
            Response::Keys(_) => "a key list",
            Response::Committed => "a commit",
            Response::Failed(_) => "an error",
        };
        self.broken(&format!("answered with {kind} to another request"))
    }
}

impl Store for RemoteStore {
    fn get(&self, key: &str) -> Result<Option<Versioned>, StoreError> {
        match self.call(&Request::Get(key.to_owned()))? {
            Response::Value(v) => Ok(v),
            other => Err(self.unexpected(&other)),
        }
    }

    fn compare_and_swap(
        &self,
        key: &str,
        expected: Option<u64>,
        value: Option<&[u8]>,
    ) -> Result<Cas, StoreError> {
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

    fn keys(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        match self.call(&Request::Keys(prefix.to_owned()))? {
            Response::Keys(keys) => Ok(keys),
            other => Err(self.unexpected(&other)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{socket_beside, StoreService};
    use super::*;

    #[test]
    fn meets_the_store_contract_through_the_service() {
        let dir =
            std::env::temp_dir().join(format!("planasonix-remote-contract-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let db = dir.join("db");
        let service = StoreService::start(&db, Duration::from_secs(5)).unwrap();
        std::thread::spawn(move || service.run(|_| {}));
        let remote = RemoteStore::connect(&socket_beside(&db), Duration::from_secs(5)).unwrap();
        crate::store::contract::check(&remote);
        remote.commit().unwrap();
        let _ = std::fs::remove_dir_all(&dir);
    }
}
