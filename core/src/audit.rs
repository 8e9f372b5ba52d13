//! Security events: typed, bounded in the store, handed to the caller for syslog.
//!
//! No event carries a secret, a code or a phone number.

use crate::text::Field;
use crate::time::UnixTime;
use core::fmt;
use serde::{Deserialize, Serialize};

/// A second factor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Factor {
    /// Authenticator app (TOTP).
    Totp,
    /// Text message code.
    Sms,
    /// Single-use recovery code.
    Recovery,
    /// Passkey or security key (WebAuthn).
    Passkey,
}

impl fmt::Display for Factor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Factor::Totp => "authenticator app",
            Factor::Sms => "SMS",
            Factor::Recovery => "recovery code",
            Factor::Passkey => "passkey",
        })
    }
}

/// How loudly an event should be logged (syslog severity).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Routine (LOG_INFO).
    Info,
    /// Worth a look (LOG_NOTICE).
    Notice,
    /// Needs attention (LOG_WARNING).
    Warning,
    /// Something is wrong that an admin must look into (LOG_ERR).
    Error,
}

/// What happened.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum AuditKind {
    /// Enrollment of a factor began (not active until confirmed).
    EnrollmentStarted {
        /// Which factor.
        factor: Factor,
    },
    /// A factor became active.
    Enrolled {
        /// Which factor.
        factor: Factor,
    },
    /// A factor was replaced or removed.
    FactorRemoved {
        /// Which factor.
        factor: Factor,
    },
    /// A second factor was accepted.
    Verified {
        /// Which factor.
        factor: Factor,
    },
    /// A code was wrong.
    Failed {
        /// Failures in the current lockout window, this one included.
        failures: u32,
    },
    /// A TOTP code was used a second time.
    Replay,
    /// A recovery code was typed again after it was spent.
    RecoveryCodeReused,
    /// Too many failures from all remote hosts together: the user is locked
    /// out everywhere.
    Locked {
        /// Until when.
        until: UnixTime,
    },
    /// Too many failures from the event's remote host: that host is locked
    /// out for the user; other hosts are not.
    RemoteLocked {
        /// Until when.
        until: UnixTime,
    },
    /// A lock was lifted by an admin.
    Unlocked,
    /// A recovery code was spent.
    RecoveryCodeUsed {
        /// Codes left.
        remaining: u32,
    },
    /// A new recovery-code set replaced the old one.
    RecoveryCodesRegenerated {
        /// Codes in the new set.
        count: u32,
    },
    /// An SMS code was handed to the delivery channel.
    SmsSent,
    /// Sending an SMS failed.
    SmsFailed {
        /// The channel's reason (never the number or code).
        reason: String,
    },
    /// An SMS was refused by the rate limits.
    SmsRateLimited,
    /// A break-glass exemption let the user in without MFA.
    ExemptionUsed,
    /// Logged in without MFA during the grace period.
    GraceLogin {
        /// When the grace period ends.
        deadline: UnixTime,
    },
    /// Login refused: enrollment is overdue.
    EnrollmentOverdue,
    /// An admin wiped the user's factors.
    Reset {
        /// The admin's stated reason.
        reason: String,
    },
    /// A right TOTP code was refused only because the last accepted one lies
    /// ahead of this clock (not counted as a failure).
    ClockBehind {
        /// When the time step of the last accepted code began.
        last_accepted: UnixTime,
    },
    /// The user's stored record failed its authentication and was refused
    /// (changed without the seal key); the login failed closed.
    RecordRefused {
        /// What did not match.
        detail: String,
    },
    /// A passkey was registered.
    PasskeyAdded {
        /// The name the user gave it.
        name: String,
        /// Its model (AAGUID; zeros when the authenticator does not say).
        aaguid: String,
    },
    /// A passkey was removed.
    PasskeyRemoved {
        /// Its name.
        name: String,
    },
    /// A passkey was renamed.
    PasskeyRenamed {
        /// The old name.
        from: String,
        /// The new name.
        to: String,
    },
    /// A passkey registration or sign-in was refused (a sign-in refusal also
    /// counts as a failure, audited beside it).
    PasskeyRefused {
        /// Why (never a key or a signature).
        reason: String,
    },
    /// A passkey's signature counter went back: a clone of the
    /// authenticator may exist. The passkey is refused from then on.
    PasskeyCloned {
        /// Its name.
        name: String,
    },
    /// A terminal login asked to be approved at the identity provider.
    ApprovalRequested {
        /// The machine of the login.
        login_host: String,
    },
    /// The user approved it there, picking the right number.
    ApprovalApproved {
        /// The machine of the login.
        login_host: String,
        /// The approving sign-in's methods (RFC 8176 `amr`, space-separated).
        amr: String,
    },
    /// The user refused it there: "This wasn't me", or a wrong number.
    ApprovalDenied {
        /// The machine of the login.
        login_host: String,
        /// `not-me` or `wrong-number`.
        reason: String,
    },
    /// It lapsed unanswered.
    ApprovalExpired {
        /// The machine of the login.
        login_host: String,
    },
    /// The login took its approval: the user is in.
    ApprovalUsed {
        /// The machine of the login.
        login_host: String,
    },
    /// The login gave up on it (a code typed instead, or the prompt ended).
    ApprovalVoided {
        /// The machine of the login.
        login_host: String,
        /// Why.
        reason: String,
    },
    /// A notice to the user could not be delivered.
    NoticeFailed {
        /// The channel's reason.
        reason: String,
    },
}

/// One audit record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// When.
    pub at: UnixTime,
    /// Whose account.
    pub user: String,
    /// The PAM service or IdP application, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// The remote host or client address, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote: Option<String>,
    /// The machine it happened on, when the door says (a fleet's hosts on
    /// a shared store do; the component does not).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// What happened.
    #[serde(flatten)]
    pub kind: AuditKind,
}

impl AuditEvent {
    /// Syslog severity.
    pub fn level(&self) -> Level {
        match self.kind {
            AuditKind::Failed { .. }
            | AuditKind::Replay
            | AuditKind::RecoveryCodeReused
            | AuditKind::RecoveryCodeUsed { .. }
            | AuditKind::SmsRateLimited
            | AuditKind::Unlocked
            | AuditKind::FactorRemoved { .. }
            | AuditKind::PasskeyRemoved { .. }
            | AuditKind::GraceLogin { .. } => Level::Notice,
            AuditKind::Locked { .. }
            | AuditKind::RemoteLocked { .. }
            | AuditKind::ExemptionUsed
            | AuditKind::EnrollmentOverdue
            | AuditKind::Reset { .. }
            | AuditKind::SmsFailed { .. }
            | AuditKind::ClockBehind { .. }
            | AuditKind::PasskeyRefused { .. }
            | AuditKind::ApprovalDenied { .. }
            | AuditKind::NoticeFailed { .. } => Level::Warning,
            AuditKind::RecordRefused { .. } | AuditKind::PasskeyCloned { .. } => Level::Error,
            _ => Level::Info,
        }
    }
}

impl fmt::Display for AuditEvent {
    /// One log line: `user=alice service=sshd remote=10.0.0.1 event=verified factor=totp`.
    ///
    /// Every value goes through [`Field`]: user, service, remote host and
    /// reasons come from outside, and must not forge a field or a line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "user={}", Field(&self.user))?;
        if let Some(s) = &self.service {
            write!(f, " service={}", Field(s))?;
        }
        if let Some(r) = &self.remote {
            write!(f, " remote={}", Field(r))?;
        }
        if let Some(h) = &self.host {
            write!(f, " host={}", Field(h))?;
        }
        match serde_json::to_value(&self.kind) {
            Ok(serde_json::Value::Object(map)) => {
                for (k, v) in map {
                    match v {
                        serde_json::Value::String(s) => write!(f, " {}={}", Field(&k), Field(&s))?,
                        other => write!(f, " {}={}", Field(&k), Field(&other.to_string()))?,
                    }
                }
                Ok(())
            }
            _ => f.write_str(" event=?"),
        }
    }
}

/// Receives events after the change that caused them is committed (for syslog).
pub trait AuditSink: Send + Sync {
    /// Called once per event.
    fn record(&self, event: &AuditEvent);

    /// Called when the committed events of `user` could not be kept in the
    /// audit trail (they were still handed to [`AuditSink::record`]).
    fn trail_failed(&self, user: &str, error: &str) {
        let _ = (user, error);
    }
}

impl<F: Fn(&AuditEvent) + Send + Sync> AuditSink for F {
    fn record(&self, event: &AuditEvent) {
        self(event)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_as_a_log_line_and_json() {
        let e = AuditEvent {
            at: UnixTime(10),
            user: "alice".into(),
            service: Some("sshd".into()),
            remote: Some("192.0.2.7".into()),
            host: None,
            kind: AuditKind::Verified {
                factor: Factor::Totp,
            },
        };
        assert_eq!(
            e.to_string(),
            "user=alice service=sshd remote=192.0.2.7 event=verified factor=totp"
        );
        let json = serde_json::to_string(&e).unwrap();
        assert_eq!(
            json,
            r#"{"at":10,"user":"alice","service":"sshd","remote":"192.0.2.7","event":"verified","factor":"totp"}"#
        );
        assert_eq!(serde_json::from_str::<AuditEvent>(&json).unwrap(), e);
        assert_eq!(e.level(), Level::Info);
    }

    #[test]
    fn values_from_outside_cannot_forge_a_field_or_a_line() {
        let e = AuditEvent {
            at: UnixTime(10),
            user: "mallory\u{202e}".into(),
            service: Some("sshd x=y".into()),
            remote: Some("203.0.113.9 event=verified factor=totp \x1b[2J".into()),
            host: Some("web1\nuser=root".into()),
            kind: AuditKind::Reset {
                reason: "lost\nevent=verified".into(),
            },
        };
        assert_eq!(
            e.to_string(),
            r#"user="mallory\u{202e}" service="sshd x=y" remote="203.0.113.9 event=verified factor=totp \u{001b}[2J" host="web1\nuser=root" event=reset reason="lost\nevent=verified""#
        );
    }
}
