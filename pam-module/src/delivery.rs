//! SMS codes and notices, sent only after the store is closed again.
//!
//! The core hands messages to its `Delivery` inside the engine call, which runs
//! while the sled database is open. A delivery command may take seconds, and
//! every other login would wait for it, so the engine gets an [`Outbox`] that
//! only queues; [`Sender`] sends the queue once the transaction is over.

use planasonix_core::phone::PhoneNumber;
use planasonix_core::{Delivery, DeliveryError, Notice, SecretString};
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A message waiting to be sent.
pub(crate) enum Outgoing {
    /// An SMS: E.164 number and text (which holds a code).
    Sms {
        /// The number.
        to: SecretString,
        /// The text.
        text: SecretString,
    },
    /// A security notice to a user.
    Notice {
        /// Whose account.
        user: String,
        /// The text.
        text: String,
    },
}

impl Outgoing {
    /// What it is, for logs (no number, no code).
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Outgoing::Sms { .. } => "SMS",
            Outgoing::Notice { .. } => "notice",
        }
    }
}

/// The engine's delivery channel: queues, sends nothing.
pub(crate) struct Outbox {
    sms_configured: bool,
    queue: Mutex<Vec<Outgoing>>,
}

impl Outbox {
    /// An empty outbox. Without an SMS channel, SMS sends fail at once so the
    /// engine undoes the challenge and tells the user plainly.
    pub(crate) fn new(sms_configured: bool) -> Outbox {
        Outbox {
            sms_configured,
            queue: Mutex::new(Vec::new()),
        }
    }

    /// Everything queued so far.
    pub(crate) fn take(&self) -> Vec<Outgoing> {
        self.queue
            .lock()
            .map(|mut q| std::mem::take(&mut *q))
            .unwrap_or_default()
    }

    fn push(&self, msg: Outgoing) -> Result<(), DeliveryError> {
        self.queue
            .lock()
            .map(|mut q| q.push(msg))
            .map_err(|_| DeliveryError("delivery queue unusable".into()))
    }
}

impl Delivery for Outbox {
    fn send_sms(&self, to: &PhoneNumber, text: &str) -> Result<(), DeliveryError> {
        if !self.sms_configured {
            return Err(DeliveryError(
                "no SMS delivery is configured on this host".into(),
            ));
        }
        self.push(Outgoing::Sms {
            to: SecretString::new(to.e164().to_owned()),
            text: SecretString::new(text.to_owned()),
        })
    }

    fn send_notice(&self, notice: &Notice) -> Result<(), DeliveryError> {
        self.push(Outgoing::Notice {
            user: notice.user.clone(),
            text: notice.message(),
        })
    }
}

/// Sends queued messages.
pub(crate) trait Sender {
    /// Sends one message; the error says why not (never the number or code).
    fn send(&self, msg: &Outgoing) -> Result<(), String>;
}

/// Runs the configured commands.
///
/// * SMS: `SMS_COMMAND NUMBER` (E.164, e.g. `+447700900123`); standard input
///   is the text. The same contract as `planasonix enroll sms --sms-command`,
///   so one gateway script serves both.
/// * Notices: `NOTICE_COMMAND USER`; standard input is the text.
///
/// Exit status 0 means delivered. The environment is empty but for `PATH` and
/// `LANG=C`; output is discarded; a command still running after the timeout is
/// killed and counts as failed.
#[derive(Debug)]
pub(crate) struct CommandSender {
    pub(crate) sms_command: Option<PathBuf>,
    pub(crate) notice_command: Option<PathBuf>,
    pub(crate) timeout: Duration,
}

impl Sender for CommandSender {
    fn send(&self, msg: &Outgoing) -> Result<(), String> {
        match msg {
            Outgoing::Sms { to, text } => {
                let cmd = self
                    .sms_command
                    .as_ref()
                    .ok_or("no SMS delivery is configured")?;
                let mut c = Command::new(cmd);
                c.arg(to.expose());
                let input = SecretString::new(format!("{}\n", text.expose()));
                run(c, input.expose().as_bytes(), self.timeout)
            }
            Outgoing::Notice { user, text } => match &self.notice_command {
                Some(cmd) => {
                    let mut c = Command::new(cmd);
                    c.arg(user);
                    run(c, format!("{text}\n").as_bytes(), self.timeout)
                }
                // No channel configured: the audit log still has the event.
                None => Ok(()),
            },
        }
    }
}

/// Starts `cmd`. ETXTBSY is retried briefly: it only means another thread of
/// the host forked while the program file was open for writing (e.g. just
/// replaced by a package update), and clears as soon as that child execs.
fn spawn(cmd: &mut Command) -> Result<std::process::Child, String> {
    let mut tries = 0;
    loop {
        match cmd.spawn() {
            Ok(child) => return Ok(child),
            Err(e) if e.raw_os_error() == Some(libc::ETXTBSY) && tries < 20 => {
                tries += 1;
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) => return Err(format!("cannot start delivery command: {e}")),
        }
    }
}

fn run(mut cmd: Command, input: &[u8], timeout: Duration) -> Result<(), String> {
    cmd.env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .env("LANG", "C")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = spawn(&mut cmd)?;
    if let Some(mut stdin) = child.stdin.take() {
        // A command that exits without reading its input is judged by its status.
        let _ = stdin.write_all(input);
    }
    #[allow(clippy::disallowed_methods)]
    // A deadline for a child process, not a time the engine sees.
    let start = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return Ok(()),
            Ok(Some(status)) => return Err(format!("delivery command failed ({status})")),
            Ok(None) if start.elapsed() >= timeout => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "delivery command timed out after {}s",
                    timeout.as_secs()
                ));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => return Err(format!("cannot wait for delivery command: {e}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn script(dir: &std::path::Path, name: &str, body: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o700)).unwrap();
        path
    }

    fn tempdir(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "pam-planasonix-delivery-{tag}-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn sms_number_is_the_argument_and_text_the_input() {
        let dir = tempdir("ok");
        let out = dir.join("out");
        let cmd = script(
            &dir,
            "sms",
            &format!("echo \"argc=$# $1\" > {0}; cat >> {0}", out.display()),
        );
        let sender = CommandSender {
            sms_command: Some(cmd),
            notice_command: None,
            timeout: Duration::from_secs(5),
        };
        let msg = Outgoing::Sms {
            to: SecretString::new("+441234567890".into()),
            text: SecretString::new("code 123456".into()),
        };
        assert_eq!(sender.send(&msg), Ok(()));
        assert_eq!(
            std::fs::read_to_string(&out).unwrap(),
            "argc=1 +441234567890\ncode 123456\n"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn failure_and_timeout_are_reported() {
        let dir = tempdir("fail");
        let sender = CommandSender {
            sms_command: Some(script(&dir, "fail", "exit 3")),
            notice_command: Some(script(&dir, "slow", "sleep 30")),
            timeout: Duration::from_secs(1),
        };
        let sms = Outgoing::Sms {
            to: SecretString::new("+441234567890".into()),
            text: SecretString::new("t".into()),
        };
        let e = sender.send(&sms).unwrap_err();
        assert!(e.contains("failed") && !e.contains("+44"), "{e}");
        let notice = Outgoing::Notice {
            user: "alice".into(),
            text: "hello".into(),
        };
        let started = std::time::Instant::now();
        let e = sender.send(&notice).unwrap_err();
        assert!(e.contains("timed out"), "{e}");
        assert!(started.elapsed() < Duration::from_secs(10));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
