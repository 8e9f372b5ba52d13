//! SMS codes and notices through external commands, always with the store
//! closed (see [`crate::call`]), each run with a timeout.
//!
//! * SMS: `SMS_COMMAND NUMBER` (E.164, e.g. `+447700900123`); standard input
//!   is the text, which holds the code.
//! * Notices: `NOTICE_COMMAND USER`; standard input is the message.
//!
//! Exit status 0 means delivered. The environment is empty but for `PATH` and
//! `LANG=C` (the PAM module runs inside sshd or sudo, whose environment is
//! not the command's business); output is discarded; a command still running
//! after its timeout is killed and counts as failed. The same contract for the
//! PAM module and the CLI, so one gateway script serves both.

use planasonix_core::time::format_duration;
use planasonix_core::{Message, SecretString};
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// The exit status by which a delivery command says its message provably did
/// not go out (EX_UNAVAILABLE: no connection, the gateway failed it), as
/// `planasonix deliver` does; any other failure may have sent it.
pub const EXIT_NOT_SENT: i32 = 69;

/// How long a delivery command may run unless configured otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a message was not delivered. Never holds the number or the text.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeliveryFailure {
    /// No command is configured for this kind of message.
    NotConfigured {
        /// `SMS` or `notice`.
        kind: &'static str,
    },
    /// The command could not be started.
    CannotStart {
        /// The program.
        program: PathBuf,
        /// The OS error kind.
        kind: std::io::ErrorKind,
        /// The OS error, as text.
        detail: String,
    },
    /// It exited with a status other than 0.
    Exited {
        /// The program.
        program: PathBuf,
        /// Its exit status.
        status: i32,
    },
    /// A signal ended it.
    Killed {
        /// The program.
        program: PathBuf,
    },
    /// Its exit status could not be had (the host ignores SIGCHLD), so
    /// whether it delivered is unknown; it counts as not delivered.
    StatusLost {
        /// The program.
        program: PathBuf,
        /// Why, as the OS said it.
        detail: String,
    },
    /// It was still running at the timeout, and was killed.
    TimedOut {
        /// The program.
        program: PathBuf,
        /// The timeout.
        after: Duration,
    },
    /// A gateway of the delivery file did not take it.
    Gateway {
        /// `SMS` or `notice`.
        kind: &'static str,
        /// Whether it provably did not go out.
        unsent: bool,
        /// Why (the gateway's status, never its answer).
        detail: String,
    },
}

impl fmt::Display for DeliveryFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeliveryFailure::NotConfigured { kind } => {
                write!(f, "no {kind} delivery is configured on this host")
            }
            DeliveryFailure::CannotStart {
                program, detail, ..
            } => write!(f, "cannot run {}: {detail}", program.display()),
            DeliveryFailure::Exited { program, status } => {
                write!(f, "{} exited with status {status}", program.display())
            }
            DeliveryFailure::Killed { program } => {
                write!(f, "{} was killed by a signal", program.display())
            }
            DeliveryFailure::StatusLost { program, detail } => write!(
                f,
                "{} ran, but its exit status was lost ({detail}; does this process ignore SIGCHLD?): counted as not delivered",
                program.display()
            ),
            DeliveryFailure::TimedOut { program, after } => write!(
                f,
                "{} did not finish within {}",
                program.display(),
                format_duration(*after)
            ),
            DeliveryFailure::Gateway { kind, detail, .. } => {
                write!(f, "{kind} gateway: {detail}")
            }
        }
    }
}

impl DeliveryFailure {
    /// Whether the message provably did not go out: nothing was configured
    /// or started, the command said so (exit status [`EXIT_NOT_SENT`]), or a
    /// gateway refused the connection or failed it. Then an SMS's send is
    /// given back to the user's limits; a timeout or another exit status
    /// counts (the message may have gone out).
    pub fn proves_unsent(&self) -> bool {
        match self {
            DeliveryFailure::NotConfigured { .. } | DeliveryFailure::CannotStart { .. } => true,
            DeliveryFailure::Exited { status, .. } => *status == EXIT_NOT_SENT,
            DeliveryFailure::Gateway { unsent, .. } => *unsent,
            DeliveryFailure::Killed { .. }
            | DeliveryFailure::StatusLost { .. }
            | DeliveryFailure::TimedOut { .. } => false,
        }
    }
}

/// Sends one queued message. [`Commands`] in production; tests record.
pub trait Sender: Sync {
    /// Sends `message`, or says why it was not sent.
    fn send(&self, message: &Message) -> Result<(), DeliveryFailure>;

    /// Whether it can send SMS at all (a notice needs no setting up).
    fn sends_sms(&self) -> bool;
}

/// The configured delivery commands.
#[derive(Clone, Debug, Default)]
pub struct Commands {
    /// The SMS command, if SMS is set up on this host.
    pub sms: Option<PathBuf>,
    /// Whether the SMS command reads the number from the first line of its
    /// standard input (off the command line, which every local user can
    /// read), not from its argument.
    pub sms_stdin: bool,
    /// The notice command, if any. Without one, notices are dropped: the
    /// audit trail has every event.
    pub notice: Option<PathBuf>,
    /// How long the SMS command may run.
    pub sms_timeout: Duration,
    /// How long the notice command may run.
    pub notice_timeout: Duration,
}

impl Sender for Commands {
    fn sends_sms(&self) -> bool {
        self.sms.is_some()
    }

    fn send(&self, message: &Message) -> Result<(), DeliveryFailure> {
        match message {
            Message::Sms { to, text } => {
                let program = self
                    .sms
                    .as_ref()
                    .ok_or(DeliveryFailure::NotConfigured { kind: "SMS" })?;
                if self.sms_stdin {
                    let input = SecretString::new(format!("{}\n{}\n", to.e164(), text.expose()));
                    return run_program(program, &[], input.expose().as_bytes(), self.sms_timeout);
                }
                let input = SecretString::new(format!("{}\n", text.expose()));
                run(
                    program,
                    to.e164(),
                    input.expose().as_bytes(),
                    self.sms_timeout,
                )
            }
            Message::Notice(notice) => match &self.notice {
                Some(program) => run(
                    program,
                    &notice.user,
                    format!("{}\n", notice.message()).as_bytes(),
                    self.notice_timeout,
                ),
                None => Ok(()),
            },
        }
    }
}

/// Starts `cmd`. ETXTBSY is retried briefly: it only means another thread of
/// the host forked while the program file was open for writing (e.g. just
/// replaced by a package update), and clears as soon as that child execs.
fn spawn(cmd: &mut Command, program: &Path) -> Result<Child, DeliveryFailure> {
    const ETXTBSY: i32 = 26;
    let mut tries = 0;
    loop {
        match cmd.spawn() {
            Ok(child) => return Ok(child),
            Err(e) if e.raw_os_error() == Some(ETXTBSY) && tries < 20 => {
                tries += 1;
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) => {
                return Err(DeliveryFailure::CannotStart {
                    program: program.to_path_buf(),
                    kind: e.kind(),
                    detail: plain(&e),
                })
            }
        }
    }
}

/// An OS error without Rust's " (os error N)" suffix.
fn plain(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.find(" (os error") {
        Some(i) => text[..i].to_owned(),
        None => text,
    }
}

/// Runs `program arg` with `input` on stdin, for at most `timeout`.
fn run(program: &Path, arg: &str, input: &[u8], timeout: Duration) -> Result<(), DeliveryFailure> {
    run_program(program, &[arg], input, timeout)
}

/// Runs `program args…` with `input` on stdin and an empty environment (but
/// `PATH` and `LANG`), for at most `timeout`; killed after it. Its output is
/// discarded: it is judged by its exit status.
pub fn run_program(
    program: &Path,
    args: &[&str],
    input: &[u8],
    timeout: Duration,
) -> Result<(), DeliveryFailure> {
    let mut cmd = Command::new(program);
    cmd.args(args)
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .env("LANG", "C")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = spawn(&mut cmd, program)?;
    if let Some(mut stdin) = child.stdin.take() {
        // A command that exits without reading its input is judged by its status.
        let _ = stdin.write_all(input);
    }
    match wait(&mut child, timeout) {
        Waited::Exited(status) if status.success() => Ok(()),
        Waited::Exited(status) => Err(match status.code() {
            Some(code) => DeliveryFailure::Exited {
                program: program.to_path_buf(),
                status: code,
            },
            None => DeliveryFailure::Killed {
                program: program.to_path_buf(),
            },
        }),
        Waited::StillRunning => {
            let _ = child.kill();
            let _ = child.wait();
            Err(DeliveryFailure::TimedOut {
                program: program.to_path_buf(),
                after: timeout,
            })
        }
        // Not killed: the pid is no longer ours to signal.
        Waited::Lost(e) => Err(DeliveryFailure::StatusLost {
            program: program.to_path_buf(),
            detail: plain(&e),
        }),
    }
}

/// How waiting for a delivery command ended.
enum Waited {
    /// It exited with this status.
    Exited(ExitStatus),
    /// It was still running at the timeout.
    StillRunning,
    /// Its status cannot be had (ECHILD: a host that ignores SIGCHLD has
    /// its children reaped by the kernel).
    Lost(std::io::Error),
}

/// Waits up to `timeout` for the child.
fn wait(child: &mut Child, timeout: Duration) -> Waited {
    #[allow(clippy::disallowed_methods)] // A deadline for a child, not a time the engine sees.
    let start = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Waited::Exited(status),
            Ok(None) if start.elapsed() < timeout => std::thread::sleep(Duration::from_millis(10)),
            Ok(None) => return Waited::StillRunning,
            Err(e) => return Waited::Lost(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use planasonix_core::phone::PhoneNumber;
    use planasonix_core::{Notice, NoticeKind, UnixTime};
    use planasonix_testkit::TempDir;
    use std::os::unix::fs::PermissionsExt;
    use std::path::Path;

    fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o700)).unwrap();
        path
    }

    fn sms(text: &str) -> Message {
        sms_to("+441234567890", text)
    }

    fn sms_to(to: &str, text: &str) -> Message {
        Message::Sms {
            to: PhoneNumber::parse(to).unwrap(),
            text: SecretString::new(text.into()),
        }
    }

    /// The cases the identity provider's delivery is run against too
    /// (idp/test/unit.test.mjs): the same commands, the same judgement.
    #[test]
    fn the_shared_delivery_cases_get_the_answers_they_name() {
        let table: serde_json::Value =
            serde_json::from_str(include_str!("../../tests/delivery-commands.json")).unwrap();
        let cases = table["cases"].as_array().unwrap();
        assert!(cases.len() >= 8, "the table lost its cases");
        let prologue = table["prologue"].as_str().unwrap();
        let (to, text, user) = ("+447700900123", "Your code is 123456", "alice");
        let notice = Notice {
            user: user.into(),
            kind: NoticeKind::Reset,
            at: UnixTime(1_800_000_000),
        };
        for (n, case) in cases.iter().enumerate() {
            let why = case["why"].as_str().unwrap();
            let dir = TempDir::new("delivery-case");
            let out = dir.join("out");
            std::fs::create_dir(&out).unwrap();
            let program = script(
                dir.path(),
                &format!("case-{n}"),
                &format!(
                    "{}\n{}",
                    prologue.replace("{out}", &out.display().to_string()),
                    case["script"].as_str().unwrap()
                ),
            );
            let timeout = Duration::from_millis(case["timeout_ms"].as_u64().unwrap_or(5000));
            let is_sms = case["message"] == "sms";
            let commands = Commands {
                sms: Some(program.clone()),
                sms_stdin: case["sms_input"] == "stdin",
                notice: Some(program),
                sms_timeout: timeout,
                notice_timeout: timeout,
            };
            let (message, body) = if is_sms {
                (sms_to(to, text), text.to_owned())
            } else {
                (Message::Notice(notice.clone()), notice.message())
            };
            let got = match commands.send(&message) {
                Ok(()) => "sent",
                Err(e) if e.proves_unsent() => "not-sent",
                Err(_) => "failed",
            };
            assert_eq!(got, case["expect"], "{why}");
            let fill = |t: &str| {
                t.replace("{to}", to)
                    .replace("{user}", user)
                    .replace("{text}", &body)
            };
            let read = |name: &str| std::fs::read_to_string(out.join(name)).unwrap();
            if let Some(argv) = case["argv"].as_array() {
                let want: String = argv
                    .iter()
                    .map(|a| format!("{}\n", fill(a.as_str().unwrap())))
                    .collect();
                assert_eq!(read("argv"), want, "{why}");
            }
            if let Some(stdin) = case["stdin"].as_str() {
                assert_eq!(read("stdin"), fill(stdin), "{why}");
            }
            if let Some(env) = case["env"].as_object() {
                let seen = read("env");
                for (name, value) in env {
                    let line = format!("{name}={}", value.as_str().unwrap());
                    assert!(seen.lines().any(|l| l == line), "{why}: {line} in {seen}");
                }
                for name in case["env_absent"].as_array().unwrap() {
                    let prefix = format!("{}=", name.as_str().unwrap());
                    assert!(
                        !seen.lines().any(|l| l.starts_with(&prefix)),
                        "{why}: {seen}"
                    );
                }
            }
        }
    }

    #[test]
    fn the_number_is_the_argument_the_text_the_input_and_the_environment_empty() {
        let dir = TempDir::new("delivery-ok");
        let out = dir.join("out");
        let cmd = script(
            dir.path(),
            "sms",
            &format!(
                "echo \"argc=$# $1 home=${{HOME:-none}}\" > {0}; cat >> {0}",
                out.display()
            ),
        );
        let commands = Commands {
            sms: Some(cmd),
            sms_stdin: false,
            notice: None,
            sms_timeout: Duration::from_secs(5),
            notice_timeout: Duration::from_secs(5),
        };
        assert_eq!(commands.send(&sms("code 123456")), Ok(()));
        assert_eq!(
            std::fs::read_to_string(&out).unwrap(),
            "argc=1 +441234567890 home=none\ncode 123456\n"
        );
    }

    #[test]
    fn failure_timeout_and_absence_are_told_apart_without_the_number() {
        let dir = TempDir::new("delivery-fail");
        let commands = Commands {
            sms: Some(script(dir.path(), "fail", "exit 3")),
            sms_stdin: false,
            notice: Some(script(dir.path(), "slow", "sleep 30")),
            sms_timeout: Duration::from_secs(1),
            notice_timeout: Duration::from_secs(1),
        };
        let e = commands.send(&sms("t")).unwrap_err();
        assert!(
            matches!(e, DeliveryFailure::Exited { status: 3, .. }),
            "{e:?}"
        );
        assert!(!e.to_string().contains("+44"), "{e}");
        let notice = Message::Notice(Notice {
            user: "alice".into(),
            kind: NoticeKind::Reset,
            at: UnixTime(0),
        });
        let e = commands.send(&notice).unwrap_err();
        assert!(matches!(e, DeliveryFailure::TimedOut { .. }), "{e:?}");
        assert!(e.to_string().contains("did not finish within 1s"), "{e}");

        let none = Commands::default();
        assert_eq!(
            none.send(&sms("t")),
            Err(DeliveryFailure::NotConfigured { kind: "SMS" })
        );
        assert_eq!(
            none.send(&notice),
            Ok(()),
            "no notice command drops notices"
        );
        let missing = Commands {
            sms: Some(dir.join("absent")),
            ..Commands::default()
        };
        let e = missing.send(&sms("t")).unwrap_err();
        assert!(
            matches!(
                e,
                DeliveryFailure::CannotStart {
                    kind: std::io::ErrorKind::NotFound,
                    ..
                }
            ),
            "{e:?}"
        );
    }
}
