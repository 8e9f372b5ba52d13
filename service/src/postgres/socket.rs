//! A store on a unix socket, trusted only as far as the socket is: the
//! directory must be owned by root or by the database's OS user and not
//! writable by others, the server at the other end must be that user
//! (`SO_PEERCRED`), and it may ask for the role's password only by SCRAM.
//!
//! Without these, a local user who binds the socket while PostgreSQL
//! restarts (an upgrade, a crash, boot order) would receive the password and
//! could answer every login from an empty database: "never enrolled", in
//! without a code.

use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::UnixStream;

/// Authentication request codes of a backend `R` message.
const AUTH_OK: u32 = 0;
const AUTH_CLEARTEXT: u32 = 3;
const AUTH_MD5: u32 = 5;

/// Why a socket or a server is not trusted.
fn refused(what: String) -> io::Error {
    io::Error::new(io::ErrorKind::PermissionDenied, what)
}

/// The socket directory `dir` may hold the server's socket: a real directory
/// (no symlink), owned by root or `owner`, that others cannot write.
pub(crate) fn check_directory(dir: &Path, owner: u32) -> io::Result<()> {
    let meta = std::fs::symlink_metadata(dir).map_err(|e| {
        io::Error::new(e.kind(), format!("socket directory {}: {e}", dir.display()))
    })?;
    if !meta.file_type().is_dir() {
        return Err(refused(format!(
            "socket directory {} is not a directory (a symlink is not followed)",
            dir.display()
        )));
    }
    if meta.uid() != 0 && meta.uid() != owner {
        return Err(refused(format!(
            "socket directory {} is owned by uid {}, not by root or the database's user (uid {owner}): whoever owns it can put their own server there",
            dir.display(),
            meta.uid()
        )));
    }
    if meta.mode() & 0o002 != 0 {
        return Err(refused(format!(
            "socket directory {} is writable by others (mode {:o}): any local user could put their own server there; make it 0755 (or 2775 for the database's group)",
            dir.display(),
            meta.mode() & 0o7777
        )));
    }
    Ok(())
}

/// Connects to the server's socket in `dir` for `port`, after checking the
/// directory, and only if the process at the other end runs as `owner`.
pub(crate) async fn connect(
    dir: &Path,
    port: u16,
    owner: u32,
) -> io::Result<AuthGuard<UnixStream>> {
    check_directory(dir, owner)?;
    let path = dir.join(format!(".s.PGSQL.{port}"));
    let stream = UnixStream::connect(&path).await?;
    let peer = stream.peer_cred()?;
    if peer.uid() != owner {
        return Err(refused(format!(
            "the server on {} runs as uid {}, not as the database's user (uid {owner}): not the database",
            path.display(),
            peer.uid()
        )));
    }
    Ok(AuthGuard::new(stream))
}

/// Where a connection's startup is, as far as the guard reads it.
#[derive(Debug)]
enum Scan {
    /// Reading a message's header: its type, length and, for an
    /// authentication request, its code (9 bytes at most).
    Header { buf: [u8; 9], got: usize },
    /// Skipping the rest of a message.
    Body(usize),
    /// Authenticated: everything passes unread.
    Done,
}

/// A stream that reads the server's messages until it has authenticated the
/// client, and fails the connection when the server asks for the password
/// in clear or as MD5 (which a listener impersonating it would do, to learn
/// it): only SCRAM gives nothing away. Needs a stream without TLS
/// negotiation (the server's first byte starts a message).
#[derive(Debug)]
pub(crate) struct AuthGuard<S> {
    inner: S,
    scan: Scan,
}

impl<S> AuthGuard<S> {
    pub(crate) fn new(inner: S) -> Self {
        AuthGuard {
            inner,
            scan: Scan::Header {
                buf: [0; 9],
                got: 0,
            },
        }
    }

    /// Reads `bytes` from the server; an error refuses the connection.
    fn read(&mut self, mut bytes: &[u8]) -> io::Result<()> {
        while !bytes.is_empty() {
            match &mut self.scan {
                Scan::Done => return Ok(()),
                Scan::Body(left) => {
                    let take = (*left).min(bytes.len());
                    *left -= take;
                    bytes = &bytes[take..];
                    if *left == 0 {
                        self.scan = Scan::Header {
                            buf: [0; 9],
                            got: 0,
                        };
                    }
                }
                Scan::Header { buf, got } => {
                    buf[*got] = bytes[0];
                    *got += 1;
                    bytes = &bytes[1..];
                    let wanted = if buf[0] == b'R' { 9 } else { 5 };
                    if *got < wanted {
                        continue;
                    }
                    let len = u32::from_be_bytes([buf[1], buf[2], buf[3], buf[4]]) as usize;
                    let body = len
                        .checked_sub(wanted - 1)
                        .ok_or_else(|| refused("the server sent a malformed message".into()))?;
                    if buf[0] == b'R' {
                        match u32::from_be_bytes([buf[5], buf[6], buf[7], buf[8]]) {
                            AUTH_CLEARTEXT => return Err(refused(
                                "the server asked for the password in clear: refused (a server that is not the database would ask so, to learn it); \
                                 set password_encryption = 'scram-sha-256' and scram-sha-256 in pg_hba.conf".into(),
                            )),
                            AUTH_MD5 => return Err(refused(
                                "the server asked for the password as MD5: refused (anyone who reads an MD5 exchange, or impersonates the server, can replay it); \
                                 set password_encryption = 'scram-sha-256' and scram-sha-256 in pg_hba.conf".into(),
                            )),
                            AUTH_OK => {
                                self.scan = Scan::Done;
                                return Ok(());
                            }
                            _ => {}
                        }
                    }
                    self.scan = if body == 0 {
                        Scan::Header {
                            buf: [0; 9],
                            got: 0,
                        }
                    } else {
                        Scan::Body(body)
                    };
                }
            }
        }
        Ok(())
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for AuthGuard<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                let fresh = buf.filled()[before..].to_vec();
                Poll::Ready(self.read(&fresh))
            }
            other => other,
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for AuthGuard<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// A socket connection as it was checked: the guarded stream, or why it is
/// not trusted, which its first read or write returns (so the refusal reaches
/// the caller as the connection's error, named with the rest).
#[derive(Debug)]
pub(crate) enum Checked {
    /// Trusted so far; the guard reads the authentication.
    Open(AuthGuard<UnixStream>),
    /// Not trusted; nothing was sent.
    Refused(Option<io::Error>),
}

impl From<io::Result<AuthGuard<UnixStream>>> for Checked {
    fn from(checked: io::Result<AuthGuard<UnixStream>>) -> Self {
        match checked {
            Ok(stream) => Checked::Open(stream),
            Err(e) => Checked::Refused(Some(e)),
        }
    }
}

impl Checked {
    fn refusal(slot: &mut Option<io::Error>) -> io::Error {
        slot.take()
            .unwrap_or_else(|| refused("the socket was not trusted".into()))
    }
}

impl AsyncRead for Checked {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Checked::Open(s) => Pin::new(s).poll_read(cx, buf),
            Checked::Refused(e) => Poll::Ready(Err(Checked::refusal(e))),
        }
    }
}

impl AsyncWrite for Checked {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Checked::Open(s) => Pin::new(s).poll_write(cx, buf),
            Checked::Refused(e) => Poll::Ready(Err(Checked::refusal(e))),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Checked::Open(s) => Pin::new(s).poll_flush(cx),
            Checked::Refused(e) => Poll::Ready(Err(Checked::refusal(e))),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Checked::Open(s) => Pin::new(s).poll_shutdown(cx),
            Checked::Refused(_) => Poll::Ready(Ok(())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A backend message: type, length, body.
    fn message(kind: u8, body: &[u8]) -> Vec<u8> {
        let mut m = vec![kind];
        m.extend_from_slice(&(body.len() as u32 + 4).to_be_bytes());
        m.extend_from_slice(body);
        m
    }

    fn auth(code: u32, rest: &[u8]) -> Vec<u8> {
        let mut body = code.to_be_bytes().to_vec();
        body.extend_from_slice(rest);
        message(b'R', &body)
    }

    /// Feeds `bytes` to a guard in pieces of `step` bytes.
    fn feed(bytes: &[u8], step: usize) -> io::Result<AuthGuard<()>> {
        let mut guard = AuthGuard::new(());
        for piece in bytes.chunks(step) {
            guard.read(piece)?;
        }
        Ok(guard)
    }

    #[test]
    fn a_request_for_the_password_in_clear_or_as_md5_is_refused_however_it_is_split() {
        let notice = message(b'N', b"Sinfo\0\0");
        for step in [1, 2, 3, 7, 1000] {
            let clear = [notice.clone(), auth(AUTH_CLEARTEXT, b"")].concat();
            let e = feed(&clear, step).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::PermissionDenied);
            assert!(e.to_string().contains("password in clear"), "{e}");
            let md5 = auth(AUTH_MD5, b"salt");
            assert!(feed(&md5, step).unwrap_err().to_string().contains("MD5"));
        }
    }

    #[test]
    fn scram_then_ok_passes_and_everything_after_ok_is_not_read() {
        // SASL (10) with its mechanism, SASLContinue (11), SASLFinal (12), Ok.
        let mut bytes = auth(10, b"SCRAM-SHA-256\0\0");
        bytes.extend(auth(11, b"r=nonce,s=salt,i=4096"));
        bytes.extend(auth(12, b"v=proof"));
        bytes.extend(auth(AUTH_OK, b""));
        // After authentication the server may send anything, an `R` with
        // code 3 included: it is data, not a request.
        bytes.extend(auth(AUTH_CLEARTEXT, b""));
        for step in [1, 4, 1000] {
            let guard = feed(&bytes, step).unwrap();
            assert!(matches!(guard.scan, Scan::Done));
        }
    }

    #[test]
    fn a_malformed_length_is_refused() {
        assert!(feed(&[b'R', 0, 0, 0, 2, 0, 0, 0, 0], 1).is_err());
    }
}
