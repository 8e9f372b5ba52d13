//! syslog(3), facility LOG_AUTHPRIV.
//!
//! No `openlog`: the module lives inside sshd, sudo or login, and `openlog`
//! would change the host's own ident and facility. Like libpam's
//! `pam_syslog`, each line carries the facility and a `pam_planasonix(service:stage)`
//! prefix instead.

use crate::log::{Log, Severity};
use core::ffi::c_int;
use planasonix_core::text::{escape_line, Field};
use std::ffi::CString;

/// Logs to syslog with a per-call prefix.
#[derive(Debug)]
pub(crate) struct Syslog {
    prefix: String,
    /// Whether LOG_DEBUG lines are written (`debug` argument).
    pub(crate) debug: bool,
}

impl Syslog {
    /// A logger for `service` at `stage`.
    pub(crate) fn new(service: &str, stage: &str) -> Syslog {
        Syslog {
            prefix: format!("pam_planasonix({}:{stage})", Field(service)),
            debug: false,
        }
    }

    #[cfg_attr(test, allow(dead_code))] // Installed as the panic hook outside tests.
    /// Reports a caught panic (its place only: a payload could hold anything).
    pub(crate) fn log_panic(&self, place: &str) {
        self.write(
            libc::LOG_ERR,
            &format!("internal error (panic at {place}); failing closed"),
        );
    }

    fn write(&self, priority: c_int, line: &str) {
        // Values in `line` went through `Field` already; this is the last
        // guard, so that nothing reaches syslog as a raw control character.
        let text = format!("{}: {}", self.prefix, escape_line(line));
        let Ok(text) = CString::new(text) else { return };
        // SAFETY: a constant "%s" format with exactly one NUL-terminated string
        // argument, so syslog reads nothing else; both live across the call.
        unsafe { libc::syslog(libc::LOG_AUTHPRIV | priority, c"%s".as_ptr(), text.as_ptr()) };
    }
}

impl Log for Syslog {
    fn log(&self, severity: Severity, line: &str) {
        let priority = match severity {
            Severity::Error => libc::LOG_ERR,
            Severity::Warning => libc::LOG_WARNING,
            Severity::Notice => libc::LOG_NOTICE,
            Severity::Info => libc::LOG_INFO,
            Severity::Debug if self.debug => libc::LOG_DEBUG,
            Severity::Debug => return,
        };
        self.write(priority, line);
    }
}
