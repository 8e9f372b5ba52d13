//! Secrets and personal data, kept off the command line: every user of the
//! host reads a process's arguments in `/proc/PID/cmdline`, and shell history
//! and sudo's log keep them. They come from standard input, or from a file
//! that is opened once, without following a symbolic link, and checked on the
//! opened descriptor (no check-then-open race).

use crate::error::{io_error, plain_io, CliError, CliResult, Exit};
use crate::prompt::interactive;
use nix::errno::Errno;
use nix::fcntl::OFlag;
use std::fs::{File, Metadata, OpenOptions};
use std::io::{BufRead, Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::Path;
use zeroize::{Zeroize, Zeroizing};

/// Reads one line of at most `max` bytes from standard input, without its
/// line ending, prompting on stderr when a person is at a terminal. The
/// buffer is allocated once at its full size, so no copy is left behind
/// unwiped by a reallocation; it is wiped when dropped.
pub fn read_private_line(prompt: &str, max: usize) -> CliResult<Zeroizing<String>> {
    if interactive() {
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "{prompt}");
        let _ = err.flush();
    }
    let mut line = Zeroizing::new(Vec::with_capacity(max + 1));
    let too_long = || {
        CliError::usage(format!(
            "the line on standard input is too long (more than {max} bytes)"
        ))
    };
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    let mut ended = false;
    loop {
        let chunk = input.fill_buf().map_err(|e| {
            CliError::failed(format!("cannot read standard input: {}", plain_io(&e)))
        })?;
        if chunk.is_empty() {
            break;
        }
        let (take, newline) = match chunk.iter().position(|b| *b == b'\n') {
            Some(i) => (i, true),
            None => (chunk.len(), false),
        };
        if line.len() + take > max + 1 {
            return Err(too_long());
        }
        line.extend_from_slice(&chunk[..take]);
        input.consume(take + usize::from(newline));
        if newline {
            ended = true;
            break;
        }
    }
    if !ended && line.is_empty() {
        return Err(CliError::failed(
            "no input: standard input ended before a line was read",
        ));
    }
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    if line.len() > max {
        return Err(too_long());
    }
    text(line)
}

/// `bytes` as text, moved (not copied) into the wiped string.
fn text(mut bytes: Zeroizing<Vec<u8>>) -> CliResult<Zeroizing<String>> {
    match String::from_utf8(std::mem::take(&mut *bytes)) {
        Ok(s) => Ok(Zeroizing::new(s)),
        Err(e) => {
            e.into_bytes().zeroize();
            Err(CliError::usage("the input is not UTF-8 text"))
        }
    }
}

/// An opened regular file and what `fstat` says of that very descriptor.
pub struct OpenedFile {
    file: File,
    /// The descriptor's metadata: owner, mode, size.
    pub meta: Metadata,
}

/// Opens `path` for reading without following a symbolic link in its last
/// component, and without blocking on a FIFO; refuses anything but a regular
/// file (exit 3, like a seal key that is not safe to use).
pub fn open_regular(path: &Path) -> CliResult<OpenedFile> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags((OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK | OFlag::O_NOCTTY).bits())
        .open(path)
        .map_err(|e| {
            if e.raw_os_error() == Some(Errno::ELOOP as i32) {
                CliError::new(
                    Exit::Permission,
                    format!(
                        "{} is a symbolic link; give the file itself (a link can be pointed elsewhere)",
                        path.display()
                    ),
                )
            } else {
                io_error("cannot read", path, &e)
            }
        })?;
    let meta = file
        .metadata()
        .map_err(|e| io_error("cannot read", path, &e))?;
    if !meta.is_file() {
        return Err(CliError::new(
            Exit::Permission,
            format!("{} is not a regular file", path.display()),
        ));
    }
    Ok(OpenedFile { file, meta })
}

impl OpenedFile {
    /// The whole file, at most `max` bytes (a longer one is refused), into a
    /// buffer allocated once and wiped when dropped.
    pub fn read_bounded(mut self, path: &Path, max: usize) -> CliResult<Zeroizing<Vec<u8>>> {
        let size = usize::try_from(self.meta.len()).unwrap_or(usize::MAX);
        let too_long = || {
            CliError::usage(format!(
                "{} is too long (more than {max} bytes)",
                path.display()
            ))
        };
        if size > max {
            return Err(too_long());
        }
        // The size may change after fstat; read one byte past the limit to see.
        let mut bytes = Zeroizing::new(Vec::with_capacity(max.min(size) + 1));
        let mut limited = (&mut self.file).take(max as u64 + 1);
        let mut chunk = Zeroizing::new([0u8; 4096]);
        loop {
            let n = limited
                .read(&mut chunk[..])
                .map_err(|e| io_error("cannot read", path, &e))?;
            if n == 0 {
                break;
            }
            if bytes.len() + n > max {
                return Err(too_long());
            }
            if bytes.len() + n > bytes.capacity() {
                // Grew since fstat: move to a larger buffer, wiping the old one.
                let mut bigger = Zeroizing::new(Vec::with_capacity(max + 1));
                bigger.extend_from_slice(&bytes);
                bytes = bigger;
            }
            bytes.extend_from_slice(&chunk[..n]);
        }
        Ok(bytes)
    }
}

/// Longest secret file read: a base32 secret is at most 205 characters.
const MAX_SECRET_FILE: usize = 1024;

/// The text of a secret file that only its owner may read: regular, not a
/// symbolic link, owned by root or by whoever runs this command, no access
/// for group or others.
pub fn read_private_file(path: &Path) -> CliResult<Zeroizing<String>> {
    let opened = open_regular(path)?;
    let me = nix::unistd::geteuid().as_raw();
    let owner = opened.meta.uid();
    if owner != 0 && owner != me {
        return Err(CliError::new(
            Exit::Permission,
            format!(
                "{} is owned by uid {owner}, not by root or you: whoever owns it chose the secret",
                path.display()
            ),
        ));
    }
    let mode = opened.meta.mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(CliError::new(
            Exit::Permission,
            format!(
                "{} is mode {mode:04o}: others may read the secret; `chmod 600` it (and treat the secret as exposed)",
                path.display()
            ),
        ));
    }
    text(opened.read_bounded(path, MAX_SECRET_FILE)?)
}
