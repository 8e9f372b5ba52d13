//! Messages that leave the engine: SMS codes and notices to the user.

use crate::phone::PhoneNumber;
use crate::time::UnixTime;
use core::fmt;

/// A delivery channel failed: its own reason, and whether the message
/// provably did not go out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveryError {
    reason: String,
    unsent: bool,
}

impl DeliveryError {
    /// The channel failed, and whether the message went out is not known (a
    /// timeout, an answer lost): an SMS counts against the user's limits.
    pub fn new(reason: impl Into<String>) -> Self {
        DeliveryError {
            reason: reason.into(),
            unsent: false,
        }
    }

    /// The message provably did not go out (no connection was made, the
    /// gateway said it failed): an SMS does not count against the user's
    /// limits, so an outage never shuts anyone out of SMS for an hour.
    pub fn not_sent(reason: impl Into<String>) -> Self {
        DeliveryError {
            reason: reason.into(),
            unsent: true,
        }
    }

    /// The channel's reason (never the number or the code).
    pub fn reason(&self) -> &str {
        &self.reason
    }

    /// Whether the message provably did not go out.
    pub fn proves_unsent(&self) -> bool {
        self.unsent
    }
}

impl From<String> for DeliveryError {
    fn from(reason: String) -> Self {
        DeliveryError::new(reason)
    }
}

impl fmt::Display for DeliveryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

/// Why the user is being told something.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum NoticeKind {
    /// A recovery code was used.
    RecoveryCodeUsed {
        /// Codes left.
        remaining: u32,
    },
    /// A factor was added.
    FactorAdded(crate::audit::Factor),
    /// A factor was removed or replaced.
    FactorRemoved(crate::audit::Factor),
    /// An admin reset the account's factors.
    Reset,
    /// Too many failed codes locked the account.
    Locked {
        /// Until when.
        until: UnixTime,
    },
    /// The user refused a terminal login's approval request at the
    /// identity provider as not theirs.
    LoginApprovalDenied,
}

/// A message to a user about their account's security.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    /// Whose account.
    pub user: String,
    /// What happened.
    pub kind: NoticeKind,
    /// When.
    pub at: UnixTime,
}

impl Notice {
    /// Plain-text body, ending with what to do if it was not them.
    pub fn message(&self) -> String {
        let what = match self.kind {
            NoticeKind::RecoveryCodeUsed { remaining } => {
                format!("a recovery code was used to sign in; {remaining} remain")
            }
            NoticeKind::FactorAdded(f) => format!("a second factor was added: {f}"),
            NoticeKind::FactorRemoved(f) => format!("a second factor was removed or replaced: {f}"),
            NoticeKind::Reset => {
                "an administrator reset your second factors; enroll again soon".into()
            }
            NoticeKind::Locked { until } => {
                format!("too many wrong codes: second-factor sign-in is locked until {until}")
            }
            NoticeKind::LoginApprovalDenied => "you refused a terminal login's request to be approved as not yours; whoever started it knows your password".into(),
        };
        format!(
            "Planasonix MFA for {}: {what} (at {}). If this was not you, contact your administrator.",
            self.user, self.at
        )
    }
}

/// Sends SMS codes and user notices. Implemented by each door: a command or
/// webhook natively, the `delivery` import in the component.
pub trait Delivery: Send + Sync {
    /// Sends `text` to `to`.
    fn send_sms(&self, to: &PhoneNumber, text: &str) -> Result<(), DeliveryError>;
    /// Tells the user about a security event on their account.
    fn send_notice(&self, notice: &Notice) -> Result<(), DeliveryError>;
    /// Whether `Ok` only means queued (the caller sends later, and records
    /// how it went): then the engine does not audit an SMS as sent.
    fn defers(&self) -> bool {
        false
    }
}

/// A message the engine asked to send.
#[derive(Clone, Debug)]
pub enum Message {
    /// An SMS (holds a code: send it, never log it).
    Sms {
        /// Recipient.
        to: PhoneNumber,
        /// Text, with the code.
        text: crate::secret::SecretString,
    },
    /// A notice to a user.
    Notice(Notice),
}

/// A [`Delivery`] that only queues, so callers can send after closing the store.
///
/// Native callers hold the sled database for milliseconds; an SMS gateway or a
/// mail command may take seconds. Run the engine operation with a `Deferred`
/// inside the transaction, then [`Deferred::take`] the messages and send them
/// with the database closed, reporting failures with
/// [`crate::Engine::sms_not_delivered`] and [`crate::Engine::notice_not_delivered`].
#[derive(Debug)]
pub struct Deferred {
    queue: std::sync::Mutex<Vec<Message>>,
    /// Whether SMS may be queued: on a host with no SMS channel, a send fails
    /// at once, so the engine undoes the challenge and says so plainly.
    sms: bool,
}

impl Default for Deferred {
    fn default() -> Self {
        Deferred {
            queue: std::sync::Mutex::new(Vec::new()),
            sms: true,
        }
    }
}

impl Deferred {
    /// An empty queue.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty queue for a host with no SMS channel: SMS sends fail at once
    /// (as [`NoDelivery`] does); notices queue.
    pub fn without_sms() -> Self {
        Deferred {
            sms: false,
            ..Self::default()
        }
    }

    /// The queued messages, in order; the queue is left empty.
    pub fn take(&self) -> Vec<Message> {
        self.queue
            .lock()
            .map(|mut q| std::mem::take(&mut *q))
            .unwrap_or_default()
    }

    fn push(&self, m: Message) -> Result<(), DeliveryError> {
        self.queue
            .lock()
            .map(|mut q| q.push(m))
            .map_err(|_| DeliveryError::new("delivery queue poisoned"))
    }
}

impl Delivery for Deferred {
    fn send_sms(&self, to: &PhoneNumber, text: &str) -> Result<(), DeliveryError> {
        if !self.sms {
            return NoDelivery.send_sms(to, text);
        }
        self.push(Message::Sms {
            to: to.clone(),
            text: crate::secret::SecretString::new(text.to_owned()),
        })
    }
    fn send_notice(&self, notice: &Notice) -> Result<(), DeliveryError> {
        self.push(Message::Notice(notice.clone()))
    }
    fn defers(&self) -> bool {
        true
    }
}

/// What an SMS that could not be delivered was for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SmsPurpose {
    /// Confirming a number being enrolled.
    Enrollment,
    /// A login code.
    Login,
}

/// A channel for hosts that deliver nothing: SMS fails plainly, notices are
/// dropped (the audit log still has every event).
#[derive(Debug, Default, Clone, Copy)]
pub struct NoDelivery;

impl Delivery for NoDelivery {
    fn send_sms(&self, _: &PhoneNumber, _: &str) -> Result<(), DeliveryError> {
        Err(DeliveryError::not_sent(
            "no SMS delivery is configured on this host",
        ))
    }
    fn send_notice(&self, _: &Notice) -> Result<(), DeliveryError> {
        Ok(())
    }
}
