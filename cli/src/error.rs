//! The CLI's one error type and its exit codes.
//!
//! Every failure becomes exactly one line on stderr and one documented exit
//! status; this file is the only place that decides which.

use planasonix_core::input::UserNameError;
use planasonix_core::phone::PhoneError;
use planasonix_core::text::escape_line;
use planasonix_core::{Error, IoKind, StoreError};
use planasonix_native::KeyFileError;
use std::fmt;
use std::io;
use std::path::Path;

/// The documented exit statuses (besides 0 for success).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// 1: the operation failed or was refused (wrong code, bad policy, …).
    Failed = 1,
    /// 2: the command line is wrong (unknown option, bad user name, …).
    Usage = 2,
    /// 3: not allowed to read the key, policy or database (or key too open).
    Permission = 3,
    /// 4: the database is busy (another process holds it) or unusable.
    Store = 4,
    /// 69 (EX_UNAVAILABLE), `deliver` only: the message provably did not go
    /// out (no connection was made, or the gateway failed it); the command
    /// contract's callers give an SMS's send back to the user's limits.
    NotSent = 69,
}

/// A failure to report: one line of text and an exit status.
#[derive(Debug)]
pub struct CliError {
    /// Exit status.
    pub exit: Exit,
    /// What went wrong, for the person at the terminal.
    pub message: String,
    /// A mistyped or wrong code: a person at a terminal may try again.
    pub retryable: bool,
}

impl CliError {
    /// An error with `exit` and `message`.
    pub fn new(exit: Exit, message: impl Into<String>) -> Self {
        CliError {
            exit,
            message: message.into(),
            retryable: false,
        }
    }

    /// Exit 1.
    pub fn failed(message: impl Into<String>) -> Self {
        CliError::new(Exit::Failed, message)
    }

    /// Exit 2.
    pub fn usage(message: impl Into<String>) -> Self {
        CliError::new(Exit::Usage, message)
    }

    /// Appends advice for a user who ran a command they lack rights for.
    pub fn with_permission_hint(mut self, hint: &str) -> Self {
        if self.exit == Exit::Permission {
            self.message.push_str("; ");
            self.message.push_str(hint);
        }
        self
    }

    /// The single stderr line: no newlines, whatever the source said, and
    /// no other control or format character raw (a name in the message may
    /// come from outside).
    pub fn line(&self) -> String {
        let flat: String = self
            .message
            .chars()
            .map(|c| {
                if matches!(c, '\n' | '\r' | '\t') {
                    ' '
                } else {
                    c
                }
            })
            .collect();
        format!("planasonix: {}", escape_line(flat.trim()))
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<Error> for CliError {
    fn from(e: Error) -> Self {
        let exit = match &e {
            Error::Store(s) => return s.clone().into(),
            Error::UserName(_) | Error::UnknownAction(_) => Exit::Usage,
            Error::Phone(PhoneError::NotE164) => Exit::Usage,
            _ => Exit::Failed,
        };
        let mut out = CliError::new(exit, e.to_string());
        out.retryable = matches!(e, Error::WrongCode | Error::Input(_));
        out
    }
}

impl From<StoreError> for CliError {
    fn from(e: StoreError) -> Self {
        let exit = match e.io_kind() {
            Some(IoKind::PermissionDenied) => Exit::Permission,
            _ => Exit::Store,
        };
        CliError::new(exit, e.to_string())
    }
}

impl From<KeyFileError> for CliError {
    fn from(e: KeyFileError) -> Self {
        let exit = if e.is_permission() {
            Exit::Permission
        } else {
            Exit::Failed
        };
        CliError::new(exit, e.to_string())
    }
}

impl From<UserNameError> for CliError {
    fn from(e: UserNameError) -> Self {
        CliError::usage(e.to_string())
    }
}

/// An I/O error on `path`, as permission (3) or plain failure (1).
pub fn io_error(what: &str, path: &Path, e: &io::Error) -> CliError {
    let exit = if e.kind() == io::ErrorKind::PermissionDenied {
        Exit::Permission
    } else {
        Exit::Failed
    };
    CliError::new(exit, format!("{what} {}: {}", path.display(), plain_io(e)))
}

/// An I/O error's text without Rust's `(os error N)` suffix.
pub fn plain_io(e: &io::Error) -> String {
    let text = e.to_string();
    match text.find(" (os error") {
        Some(i) => text[..i].to_owned(),
        None => text,
    }
}

/// Result with a [`CliError`].
pub type CliResult<T> = Result<T, CliError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_are_the_documented_ones() {
        assert_eq!(Exit::Failed as i32, 1);
        assert_eq!(Exit::Usage as i32, 2);
        assert_eq!(Exit::Permission as i32, 3);
        assert_eq!(Exit::Store as i32, 4);
        assert_eq!(CliError::from(StoreError::Busy).exit, Exit::Store);
        assert_eq!(
            CliError::from(StoreError::io(
                IoKind::PermissionDenied,
                "/x: Permission denied"
            ))
            .exit,
            Exit::Permission
        );
        assert_eq!(CliError::from(Error::WrongCode).exit, Exit::Failed);
    }

    #[test]
    fn error_line_is_one_line() {
        let e = CliError::failed("first\nsecond\r\n");
        assert_eq!(e.line(), "planasonix: first second");
        let e = CliError::failed("no account root\u{1b}[2J\u{202e} here");
        assert_eq!(
            e.line(),
            "planasonix: no account root\\u{001b}[2J\\u{202e} here"
        );
    }
}
