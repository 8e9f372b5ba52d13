//! Getting messages out: SMS and notices through a configured command, audit
//! events to syslog.

use planasonix_core::audit::{AuditEvent, AuditSink, Level};
use planasonix_core::phone::PhoneNumber;
use planasonix_core::text::{escape_line, Field};
use planasonix_core::{Delivery, DeliveryError, Notice};
use std::io::Write;
use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a notice command may run.
const NOTICE_TIMEOUT: Duration = Duration::from_secs(10);

/// Delivers through external programs, always with the database closed: the
/// engine queues its messages in a [`planasonix_core::Deferred`] and
/// [`crate::host::Host::with_engine`] hands them here afterwards.
///
/// The SMS program gets the E.164 number as its only argument and the text on
/// stdin; the notice program gets the user name and the message. Exit status 0
/// means sent. Anything else, or running past the timeout (the program is then
/// killed), is a failure, recorded with the engine in a new short transaction.
#[derive(Debug, Default)]
pub struct CommandDelivery {
    sms: Option<(PathBuf, Duration)>,
    notice: Option<PathBuf>,
}

impl CommandDelivery {
    /// Sends SMS through `sms` (program, longest run) and notices through
    /// `notice`. Without an SMS program a send fails plainly; without a notice
    /// program notices are dropped (the audit log has every event).
    pub fn new(sms: Option<(PathBuf, Duration)>, notice: Option<PathBuf>) -> Self {
        CommandDelivery { sms, notice }
    }
}

impl Delivery for CommandDelivery {
    fn send_sms(&self, to: &PhoneNumber, text: &str) -> Result<(), DeliveryError> {
        match &self.sms {
            Some((program, timeout)) => run(program, to.e164(), text, *timeout),
            None => Err(DeliveryError(
                "no SMS command is configured (--sms-command or PLANASONIX_SMS_COMMAND)".into(),
            )),
        }
    }

    fn send_notice(&self, notice: &Notice) -> Result<(), DeliveryError> {
        match &self.notice {
            Some(program) => run(program, &notice.user, &notice.message(), NOTICE_TIMEOUT),
            None => Ok(()),
        }
    }
}

/// Runs `program arg` with `input` on stdin. Reasons never carry `arg` (a phone
/// number) since the engine writes them to the audit log.
fn run(program: &PathBuf, arg: &str, input: &str, timeout: Duration) -> Result<(), DeliveryError> {
    let name = program.display();
    let mut child = Command::new(program)
        .arg(arg)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| DeliveryError(format!("cannot run {name}: {}", crate::error::plain_io(&e))))?;
    if let Some(mut stdin) = child.stdin.take() {
        // A program that exits without reading its input is judged by its status.
        let _ = stdin.write_all(input.as_bytes());
    }
    match wait(&mut child, timeout) {
        Some(status) if status.success() => Ok(()),
        Some(status) => Err(DeliveryError(match status.code() {
            Some(code) => format!("{name} exited with status {code}"),
            None => format!("{name} was killed by a signal"),
        })),
        None => {
            let _ = child.kill();
            let _ = child.wait();
            Err(DeliveryError(format!(
                "{name} did not finish within {}",
                planasonix_core::time::format_duration(timeout)
            )))
        }
    }
}

fn wait(child: &mut Child, timeout: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            _ => return None,
        }
    }
}

/// Sends audit events to the local syslog daemon (facility LOG_AUTHPRIV).
/// Best effort: a host without `/dev/log` still has the audit trail file.
#[derive(Debug, Clone, Copy)]
pub struct SyslogSink;

/// LOG_AUTHPRIV.
const FACILITY: u8 = 10;

impl AuditSink for SyslogSink {
    fn record(&self, event: &AuditEvent) {
        let severity = match event.level() {
            Level::Info => 6,
            Level::Notice => 5,
            Level::Warning => 4,
            Level::Error => 3,
        };
        send(severity, &event.to_string());
    }

    fn trail_failed(&self, user: &str, error: &str) {
        let text = escape_line(&format!(
            "audit trail not written for user={}: {error}",
            Field(user)
        ));
        // The one warning the CLI prints outside its output stream: the
        // command succeeded, but its record of it did not reach the trail.
        #[allow(clippy::print_stderr)]
        {
            eprintln!("planasonix: warning: {text}");
        }
        send(3, &text);
    }
}

/// One syslog datagram at `severity`, best effort. Values in `text` went
/// through [`Field`] already; the line is cleaned like the PAM module's, so
/// nothing reaches syslog as a raw control character.
fn send(severity: u8, text: &str) {
    let line = format!(
        "<{}>planasonix[{}]: {}",
        u16::from(FACILITY) * 8 + u16::from(severity),
        std::process::id(),
        escape_line(text)
    );
    if let Ok(socket) = UnixDatagram::unbound() {
        let _ = socket.send_to(line.as_bytes(), "/dev/log");
    }
}
