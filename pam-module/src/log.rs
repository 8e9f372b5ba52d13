//! Logging: one trait, syslog (facility authpriv) behind it in production.
//!
//! Lines carry the service, user and remote host, never a code, a secret or a
//! phone number: the flow only ever logs names, decisions and error kinds, and
//! audit events from the core, which are built to hold none of those.

use planasonix_core::text::Field;
use planasonix_core::{AuditEvent, AuditSink, Level};

/// Syslog severities this module uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Severity {
    /// LOG_ERR: the module cannot work (fails closed).
    Error,
    /// LOG_WARNING.
    Warning,
    /// LOG_NOTICE.
    Notice,
    /// LOG_INFO.
    Info,
    /// LOG_DEBUG, only with the `debug` argument.
    Debug,
}

/// Where log lines go.
pub(crate) trait Log: Send + Sync {
    /// Writes one line.
    fn log(&self, severity: Severity, line: &str);
}

/// Hands the core's audit events to a [`Log`].
pub(crate) struct AuditToLog<'a>(pub(crate) &'a dyn Log);

impl AuditSink for AuditToLog<'_> {
    fn record(&self, event: &AuditEvent) {
        let severity = match event.level() {
            Level::Info => Severity::Info,
            Level::Notice => Severity::Notice,
            Level::Warning => Severity::Warning,
            Level::Error => Severity::Error,
        };
        self.0.log(severity, &format!("audit: {event}"));
    }

    fn trail_failed(&self, user: &str, error: &str) {
        self.0.log(
            Severity::Error,
            &format!(
                "audit trail not written for user={}: {error} (the events above are only in syslog)",
                Field(user)
            ),
        );
    }
}

/// A log that keeps lines in memory, for tests.
#[cfg(test)]
#[derive(Default)]
pub(crate) struct MemoryLog(pub(crate) std::sync::Mutex<Vec<(Severity, String)>>);

#[cfg(test)]
impl MemoryLog {
    pub(crate) fn lines(&self) -> Vec<(Severity, String)> {
        self.0.lock().map(|l| l.clone()).unwrap_or_default()
    }
}

#[cfg(test)]
impl Log for MemoryLog {
    fn log(&self, severity: Severity, line: &str) {
        if let Ok(mut l) = self.0.lock() {
            l.push((severity, line.to_owned()));
        }
    }
}
