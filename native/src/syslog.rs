//! The one syslog writer, facility LOG_AUTHPRIV, for every native door.
//!
//! Each line is one datagram to `/dev/log` in the local syslog format
//! (`<PRI>TAG[PID]: MESSAGE`), which rsyslog, syslog-ng and journald all take.
//! No `openlog(3)`: the PAM module lives inside sshd, sudo or login, and must
//! not change the host's own ident or facility; no C at all, so nothing here
//! is unsafe.
//!
//! Every line goes through [`escape_line`] here, whoever wrote it: values in
//! it went through [`Field`] already, and this is the last guard, so that
//! nothing reaches syslog as a raw control character (a forged second line).
//! Best effort: a host without a syslog socket still has the audit trail.

use planasonix_core::text::{escape_line, Field};
use planasonix_core::{AuditEvent, AuditSink, Level};
use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;

/// LOG_AUTHPRIV.
const FACILITY: u16 = 10;

/// The longest tag written: `argv[0]` is the caller's choice for `su` or
/// `sudo`, and a long one would push the message past what syslog daemons
/// keep (rsyslog: 8 KiB), so that the line is cut before its text.
const MAX_TAG_CHARS: usize = 32;

/// How long a line may wait for room in a full syslog socket before it is
/// dropped: the store may be open meanwhile, and logging is best effort.
const FULL_SOCKET_TRIES: u32 = 10;

/// Syslog severities the doors use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// LOG_ERR: the door cannot work (fails closed).
    Error,
    /// LOG_WARNING.
    Warning,
    /// LOG_NOTICE.
    Notice,
    /// LOG_INFO.
    Info,
    /// LOG_DEBUG, only when debugging is on.
    Debug,
}

impl Severity {
    /// The syslog(3) level number.
    fn code(self) -> u16 {
        match self {
            Severity::Error => 3,
            Severity::Warning => 4,
            Severity::Notice => 5,
            Severity::Info => 6,
            Severity::Debug => 7,
        }
    }

    /// The severity of an audit event.
    pub fn of(level: Level) -> Severity {
        match level {
            Level::Info => Severity::Info,
            Level::Notice => Severity::Notice,
            Level::Warning => Severity::Warning,
            Level::Error => Severity::Error,
        }
    }
}

/// Where log lines go: [`Syslog`] in production, a memory log in tests.
pub trait Log: Send + Sync {
    /// Writes one line.
    fn log(&self, severity: Severity, line: &str);
}

/// Writes to the local syslog socket.
#[derive(Debug, Clone)]
pub struct Syslog {
    tag: String,
    prefix: String,
    debug: bool,
    socket: PathBuf,
}

impl Syslog {
    /// A writer whose lines carry `tag` (the program, e.g. `sshd` or
    /// `planasonix`) and start with `prefix` (e.g.
    /// `pam_planasonix(sshd:auth)`), as libpam's `pam_syslog` writes them.
    pub fn new(tag: &str, prefix: Option<&str>) -> Syslog {
        Syslog {
            tag: escape_line(tag)
                .replace([' ', '[', ']', ':'], "_")
                .chars()
                .take(MAX_TAG_CHARS)
                .collect(),
            prefix: prefix.map(|p| format!("{p}: ")).unwrap_or_default(),
            debug: false,
            socket: PathBuf::from("/dev/log"),
        }
    }

    /// The tag for code loaded into another program (the PAM module): that
    /// program's name, as syslog(3) would have used it.
    pub fn program_name() -> String {
        let argv0 = std::env::args_os().next().and_then(|a| {
            std::path::Path::new(&a)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
        });
        let comm = || std::fs::read_to_string("/proc/self/comm").ok();
        choose_program_name(argv0, comm)
    }

    /// Writes LOG_DEBUG lines too (`debug` module argument).
    pub fn with_debug(mut self, debug: bool) -> Syslog {
        self.debug = debug;
        self
    }

    /// The line as sent: priority, tag, pid, prefix and the cleaned text.
    fn datagram(&self, severity: Severity, line: &str) -> String {
        format!(
            "<{}>{}[{}]: {}{}",
            FACILITY * 8 + severity.code(),
            self.tag,
            std::process::id(),
            self.prefix,
            escape_line(line)
        )
    }
}

impl Log for Syslog {
    fn log(&self, severity: Severity, line: &str) {
        if severity == Severity::Debug && !self.debug {
            return;
        }
        let Ok(socket) = UnixDatagram::unbound() else {
            return;
        };
        // Never blocks on a stalled syslog daemon: a full socket gets a few
        // millisecond-long retries, then the line is dropped (the audit
        // trail keeps every event).
        if socket.set_nonblocking(true).is_err() {
            return;
        }
        let datagram = self.datagram(severity, line);
        for _ in 0..FULL_SOCKET_TRIES {
            match socket.send_to(datagram.as_bytes(), &self.socket) {
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }
                _ => return,
            }
        }
    }
}

/// `argv[0]`'s file name, unless the host rewrote its argument area for ps
/// (sshd's setproctitle turns it into `sshd: alice [priv]`, which std reads
/// back); then the name the kernel keeps for the process (`comm`, what the
/// program was started as, at most 15 bytes).
fn choose_program_name(argv0: Option<String>, comm: impl FnOnce() -> Option<String>) -> String {
    let plain = |n: &String| !n.is_empty() && !n.contains(|c: char| c == ':' || c.is_whitespace());
    match argv0 {
        Some(name) if plain(&name) => name,
        _ => comm()
            .map(|c| c.trim_end_matches('\n').to_owned())
            .filter(plain)
            .unwrap_or_else(|| "pam".into()),
    }
}

/// Hands the engine's audit events to a [`Log`], at their own severity.
#[derive(Clone, Copy)]
pub struct AuditToLog<'a>(pub &'a dyn Log);

impl std::fmt::Debug for AuditToLog<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuditToLog")
    }
}

impl AuditSink for AuditToLog<'_> {
    fn record(&self, event: &AuditEvent) {
        self.0
            .log(Severity::of(event.level()), &format!("audit: {event}"));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_cleaned_prefixed_and_prioritised() {
        let log = Syslog::new("sshd", Some("pam_planasonix(sshd:auth)"));
        let line = log.datagram(Severity::Notice, "user=x\nforged: root logged in");
        assert_eq!(
            line,
            format!(
                "<85>sshd[{}]: pam_planasonix(sshd:auth): user=x\\nforged: root logged in",
                std::process::id()
            )
        );
        assert!(!line.contains('\n'));
    }

    #[test]
    fn a_program_that_rewrote_its_argv_is_named_by_the_kernel() {
        let comm = || Some("sshd\n".to_owned());
        assert_eq!(choose_program_name(Some("sudo".into()), comm), "sudo");
        assert_eq!(
            choose_program_name(Some("sshd: alice [priv]".into()), comm),
            "sshd"
        );
        assert_eq!(choose_program_name(None, comm), "sshd");
        assert_eq!(choose_program_name(Some(String::new()), || None), "pam");
        assert_eq!(
            choose_program_name(Some("x y".into()), || Some("\n".into())),
            "pam"
        );
    }

    #[test]
    fn a_long_tag_is_cut() {
        let log = Syslog::new(&"x".repeat(100_000), None);
        assert!(log
            .datagram(Severity::Info, "the text")
            .starts_with(&format!("<86>{}[", "x".repeat(32))));
    }

    #[test]
    fn a_stalled_syslog_daemon_does_not_hold_the_caller() {
        let dir = planasonix_testkit::TempDir::new("syslog-full");
        let socket = dir.join("log");
        // Bound and never read: its queue fills up after a few hundred lines.
        let _listener = UnixDatagram::bind(&socket).unwrap();
        let mut log = Syslog::new("t", None);
        log.socket = socket;
        let (done, finished) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for _ in 0..500 {
                log.log(Severity::Info, &"y".repeat(1000));
            }
            let _ = done.send(());
        });
        // Not a speed goal: a blocking writer would never finish at all.
        assert!(
            finished
                .recv_timeout(std::time::Duration::from_secs(120))
                .is_ok(),
            "logging blocked on a full syslog socket"
        );
    }

    #[test]
    fn a_tag_cannot_break_the_line_format() {
        let log = Syslog::new("evil: x[1]\n", None);
        let line = log.datagram(Severity::Error, "m");
        assert!(line.starts_with("<83>evil__x_1_\\n["), "{line}");
    }

    #[test]
    fn debug_lines_are_dropped_unless_asked_for() {
        let dir = planasonix_testkit::TempDir::new("syslog");
        let socket = dir.join("log");
        let listener = UnixDatagram::bind(&socket).unwrap();
        listener.set_nonblocking(true).unwrap();
        let mut log = Syslog::new("t", None);
        log.socket = socket.clone();
        log.log(Severity::Debug, "hidden");
        log.log(Severity::Info, "shown");
        let log = log.with_debug(true);
        log.log(Severity::Debug, "now shown");
        let mut got = Vec::new();
        let mut buf = [0u8; 512];
        while let Ok(n) = listener.recv(&mut buf) {
            got.push(String::from_utf8_lossy(&buf[..n]).into_owned());
        }
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(got[0].ends_with("shown") && got[0].starts_with("<86>"));
        assert!(got[1].ends_with("now shown") && got[1].starts_with("<87>"));
    }
}
