//! `planasonix-gateway`: SMS and notices through real gateways: the delivery
//! file names a generic HTTP webhook, Twilio's Messages API, the local
//! `sendmail`, or a command with today's contract; [`Gateway`] sends one
//! message through it.
//!
//! `planasonix deliver sms|notice` is this, behind the command contract the
//! PAM module and the CLI already run (`sms_command`, `notice_command`), so a
//! login's transaction never waits on a gateway: the module sends after the
//! store is closed, through a process. The wasmtime host links it directly.
//! A crate of its own, not a feature of `planasonix-native`, so the PAM
//! module, which links native, never links an HTTP client by construction.
//!
//! Nothing secret is written anywhere: errors carry the gateway's status,
//! never its answer's body (which may echo the number or the code), the
//! number, the text or a token.

mod file;
mod mail;
mod template;
mod webhook;

pub use file::{
    parse_delivery, read_delivery_file, DeliveryFile, DeliveryFileError, Problem, UrlProblem,
    DEFAULT_DELIVERY_FILE,
};
pub use mail::Sendmail;
pub use webhook::Webhook;

use core::fmt;
use planasonix_core::phone::PhoneNumber;
use planasonix_core::Message;
use planasonix_native::delivery::{run_program, Sender};
use std::path::PathBuf;
use std::time::Duration;
use template::Values;

/// One way out for one kind of message.
#[derive(Debug)]
pub enum Channel {
    /// An HTTP gateway (a generic webhook, or Twilio).
    Webhook(Box<Webhook>),
    /// A program with the command contract: recipient as argument, text on
    /// stdin; or (`stdin`) the recipient on stdin's first line, the text after.
    Command {
        /// The program.
        program: PathBuf,
        /// Whether the recipient goes on standard input, off the command line.
        stdin: bool,
        /// How long it may run.
        timeout: Duration,
    },
    /// Mail through the local `sendmail` (notices only).
    Sendmail(Sendmail),
}

/// What a gateway said when it took a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sent {
    /// The HTTP status (0 for a command or sendmail).
    pub status: u16,
    /// The gateway's id for the message, where the file says where it is.
    pub message_id: Option<String>,
    /// Requests made (more than one after the gateway asked for a retry).
    pub attempts: u32,
}

/// Why a message did not go out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GatewayError {
    /// The delivery file, a secret file or a CA file cannot be used.
    Config(String),
    /// The gateway answered and did not take the message (a 4xx, or a 2xx
    /// without the success pattern): sending it again would not help.
    Refused(String),
    /// It provably did not go out: no connection was made (refused, no
    /// such host, TLS failed before the request), or the gateway answered
    /// 429 or 5xx as often as retries allow.
    NotSent(String),
    /// Whether it went out is not known: no answer in time, or a broken one.
    Unavailable(String),
}

impl GatewayError {
    /// Whether the message provably did not go out (the user's SMS limits
    /// then give its send back).
    pub fn proves_unsent(&self) -> bool {
        matches!(self, GatewayError::Config(_) | GatewayError::NotSent(_))
    }
}

impl fmt::Display for GatewayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GatewayError::Config(why) => write!(f, "delivery is not set up right: {why}"),
            GatewayError::Refused(why) => write!(f, "the message was refused: {why}"),
            GatewayError::NotSent(why) => write!(f, "the gateway did not take the message: {why}"),
            GatewayError::Unavailable(why) => {
                write!(f, "the gateway could not take the message: {why}")
            }
        }
    }
}

impl std::error::Error for GatewayError {}

/// A fresh message id (for the `{id}` placeholder and a mail's Message-ID).
fn message_id() -> String {
    let mut bytes = [0u8; 12];
    planasonix_core::Random::fill(&mut planasonix_native::OsRandom::new(), &mut bytes).map_or_else(
        |_| "unknown".to_owned(),
        |()| bytes.iter().map(|b| format!("{b:02x}")).collect(),
    )
}

impl Channel {
    /// The longest one send may take: every try at its timeout, with the
    /// waits between them. A caller that stops it sooner (the PAM module's
    /// `delivery_timeout=`) cannot know whether it went out.
    pub fn longest(&self) -> Duration {
        match self {
            Channel::Webhook(w) => w.longest(),
            Channel::Command { timeout, .. } => *timeout,
            Channel::Sendmail(m) => m.timeout,
        }
    }

    /// Sends an SMS with `text` to `to`.
    pub fn send_sms(&self, to: &PhoneNumber, text: &str) -> Result<Sent, GatewayError> {
        self.send_sms_showing(to, text, None)
    }

    /// [`Channel::send_sms`], also writing the request (secrets masked) into
    /// `shown` (for `planasonix deliver test`); never the gateway's answer,
    /// which may echo a token, the number or the code.
    pub fn send_sms_showing(
        &self,
        to: &PhoneNumber,
        text: &str,
        shown: Option<&mut String>,
    ) -> Result<Sent, GatewayError> {
        let id = message_id();
        let values = Values {
            to: to.e164(),
            text,
            id: &id,
            user: "",
        };
        match self {
            Channel::Webhook(w) => send(w, &values, shown),
            Channel::Command {
                program,
                stdin,
                timeout,
            } => command(program, to.e164(), *stdin, text, *timeout),
            Channel::Sendmail(_) => Err(GatewayError::Config("sendmail does not send SMS".into())),
        }
    }

    /// Tells `user` `text` (a notice about their account).
    pub fn send_notice(&self, user: &str, text: &str) -> Result<Sent, GatewayError> {
        self.send_notice_showing(user, text, None)
    }

    /// [`Channel::send_notice`], showing the request as for SMS.
    pub fn send_notice_showing(
        &self,
        user: &str,
        text: &str,
        shown: Option<&mut String>,
    ) -> Result<Sent, GatewayError> {
        let id = message_id();
        match self {
            Channel::Webhook(w) => {
                let values = Values {
                    to: "",
                    text,
                    id: &id,
                    user,
                };
                send(w, &values, shown)
            }
            Channel::Command {
                program,
                stdin,
                timeout,
            } => command(program, user, *stdin, text, *timeout),
            Channel::Sendmail(m) => m.send(user, text, &id).map(|()| Sent {
                status: 0,
                message_id: Some(id),
                attempts: 1,
            }),
        }
    }
}

fn send(
    w: &Webhook,
    values: &Values<'_>,
    shown: Option<&mut String>,
) -> Result<Sent, GatewayError> {
    let request = w.prepare(values, shown.is_some())?;
    // The answer's body is never shown: a gateway that echoes requests
    // would show its token, the number or the code.
    if let (Some(out), Some(text)) = (shown, request.shown.as_deref()) {
        text.clone_into(out);
    }
    w.send(&request)
}

fn command(
    program: &std::path::Path,
    to: &str,
    stdin: bool,
    text: &str,
    timeout: Duration,
) -> Result<Sent, GatewayError> {
    let input = zeroize::Zeroizing::new(if stdin {
        format!("{to}\n{text}\n")
    } else {
        format!("{text}\n")
    });
    let args: &[&str] = if stdin { &[] } else { &[to] };
    run_program(program, args, input.as_bytes(), timeout)
        .map(|()| Sent {
            status: 0,
            message_id: None,
            attempts: 1,
        })
        .map_err(|e| {
            if e.proves_unsent() {
                GatewayError::NotSent(e.to_string())
            } else {
                GatewayError::Unavailable(e.to_string())
            }
        })
}

/// The delivery file as the native [`Sender`]: what the CLI and the wasmtime
/// host use when a delivery file exists.
impl Sender for DeliveryFile {
    fn sends_sms(&self) -> bool {
        self.sms.is_some()
    }

    fn send(&self, message: &Message) -> Result<(), planasonix_native::delivery::DeliveryFailure> {
        use planasonix_native::delivery::DeliveryFailure;
        let fail = |kind: &'static str, e: GatewayError| DeliveryFailure::Gateway {
            kind,
            unsent: e.proves_unsent(),
            detail: e.to_string(),
        };
        match message {
            Message::Sms { to, text } => match &self.sms {
                Some(channel) => channel
                    .send_sms(to, text.expose())
                    .map(drop)
                    .map_err(|e| fail("SMS", e)),
                None => Err(DeliveryFailure::NotConfigured { kind: "SMS" }),
            },
            Message::Notice(notice) => match &self.notice {
                Some(channel) => channel
                    .send_notice(&notice.user, &notice.message())
                    .map(drop)
                    .map_err(|e| fail("notice", e)),
                None => Ok(()),
            },
        }
    }
}
