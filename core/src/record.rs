//! A user's stored state: factors, lockout, grace, recent MFA and audit trail.
//!
//! One record per user under `user/NAME`, JSON with a schema version. Secrets
//! inside are [`Sealed`]; codes are hashes.

use crate::audit::Factor;
use crate::hotp::Algorithm;
use crate::recovery::RecoverySet;
use crate::seal::Sealed;
use crate::sms::SmsChallenge;
use crate::store::StoreError;
use crate::time::UnixTime;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The record format this build writes. It reads this one and
/// [`OLDEST_SCHEMA_READ`] onwards; a record it changes is written in this one.
///
/// 2: recovery code hashes as one string (see `recovery::stored_form`); empty
/// and absent fields left out.
pub const SCHEMA_VERSION: u32 = 2;

/// The oldest record format this build still reads.
pub const OLDEST_SCHEMA_READ: u32 = 1;

/// Most recent MFA marks kept per user (service × remote host pairs).
const MAX_MARKS: usize = 16;

/// Store key of a user's record.
pub fn user_key(user: &str) -> String {
    format!("user/{user}")
}

/// An authenticator-app factor and its parameters at enrollment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TotpFactor {
    /// The sealed secret.
    pub secret: Sealed,
    /// HMAC algorithm.
    pub algorithm: Algorithm,
    /// 6 or 8.
    pub digits: u32,
    /// Seconds per step.
    pub period: u64,
    /// Highest time step ever accepted (replay guard).
    pub last_step: Option<u64>,
    /// When it was enrolled (or began enrolling, while pending).
    pub since: UnixTime,
    /// Last accepted use.
    pub last_used: Option<UnixTime>,
}

/// An SMS factor.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmsFactor {
    /// The sealed E.164 number.
    pub phone: Sealed,
    /// When it was confirmed (or began, while pending).
    pub since: UnixTime,
    /// Last accepted use.
    pub last_used: Option<UnixTime>,
}

/// Remote hosts whose failures and lock a record keeps at most. Past it the
/// entry that expires first is dropped: that only frees one remote early, and
/// the user-wide count (which nothing drops early) still bounds every guess.
pub const MAX_REMOTES: usize = 32;

/// Longest remote host name kept, in bytes; longer ones are cut (at a
/// character boundary) and so share a count, which only locks sooner.
const MAX_REMOTE_LEN: usize = 255;

/// The remote a failure counts against: `None` and `""` (local logins) are one.
fn remote_key(remote: Option<&str>) -> Option<String> {
    let r = remote.filter(|r| !r.is_empty())?;
    let mut end = r.len().min(MAX_REMOTE_LEN);
    while !r.is_char_boundary(end) {
        end -= 1;
    }
    Some(r[..end].to_owned())
}

/// Failed codes and the lock of one remote host, for one user.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoteLockout {
    /// The remote host as the door reported it; `None` for local logins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote: Option<String>,
    /// Times of this remote's failures inside the current window.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failures: Vec<UnixTime>,
    /// This remote is locked out for the user until then, if it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locked_until: Option<UnixTime>,
}

impl RemoteLockout {
    /// When this entry stops mattering: its lock ends and its last failure
    /// leaves the window.
    fn expires(&self, window: Duration) -> UnixTime {
        let last = self.failures.iter().max().map(|t| t.plus(window));
        last.max(self.locked_until).unwrap_or(UnixTime(0))
    }
}

/// Failed codes and the current locks: user-wide and per remote host.
///
/// Records written before the per-remote count have only the user-wide
/// fields, which keep their meaning.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lockout {
    /// Times of failures from every remote inside the current window.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failures: Vec<UnixTime>,
    /// The user is locked out everywhere until then, if locked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locked_until: Option<UnixTime>,
    /// Per remote host, at most [`MAX_REMOTES`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub remotes: Vec<RemoteLockout>,
}

/// Failures in the window after one more, as [`Lockout::count_failure`] counts them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FailureCount {
    /// From this remote.
    pub remote: u32,
    /// From all remotes.
    pub all: u32,
}

impl Lockout {
    /// No failures and no lock: nothing worth storing.
    pub fn is_clear(&self) -> bool {
        self.failures.is_empty() && self.locked_until.is_none() && self.remotes.is_empty()
    }

    /// The lock in force at `now` for a login from `remote`: the user-wide
    /// one or that remote's, whichever ends later.
    pub fn locked_until(&self, remote: Option<&str>, now: UnixTime) -> Option<UnixTime> {
        let key = remote_key(remote);
        let remote = self
            .remotes
            .iter()
            .find(|r| r.remote == key)
            .and_then(|r| r.locked_until);
        self.locked_until.max(remote).filter(|until| *until > now)
    }

    /// Counts a failure from `remote` at `now`, forgetting what is older than
    /// `window` and remotes with nothing left in force.
    pub fn count_failure(
        &mut self,
        remote: Option<&str>,
        now: UnixTime,
        window: Duration,
    ) -> FailureCount {
        let live = |t: &UnixTime| *t <= now && now.since(*t) < window;
        self.failures.retain(live);
        self.failures.push(now);
        for r in &mut self.remotes {
            r.failures.retain(live);
        }
        self.remotes
            .retain(|r| !r.failures.is_empty() || r.locked_until.is_some_and(|u| u > now));
        let key = remote_key(remote);
        let at = match self.remotes.iter().position(|r| r.remote == key) {
            Some(at) => at,
            None => {
                if self.remotes.len() >= MAX_REMOTES {
                    if let Some(first) =
                        (0..self.remotes.len()).min_by_key(|i| self.remotes[*i].expires(window))
                    {
                        self.remotes.remove(first);
                    }
                }
                self.remotes.push(RemoteLockout {
                    remote: key,
                    failures: Vec::new(),
                    locked_until: None,
                });
                self.remotes.len() - 1
            }
        };
        self.remotes[at].failures.push(now);
        FailureCount {
            remote: self.remotes[at].failures.len() as u32,
            all: self.failures.len() as u32,
        }
    }

    /// Locks `remote` out until `until`; its failures are spent (they stay in
    /// the user-wide count).
    pub fn lock_remote(&mut self, remote: Option<&str>, until: UnixTime) {
        let key = remote_key(remote);
        if let Some(r) = self.remotes.iter_mut().find(|r| r.remote == key) {
            r.failures.clear();
            r.locked_until = Some(until);
        }
    }

    /// Locks the user out everywhere until `until`. Per-remote state goes:
    /// every remote lock ends before this one (same duration, set earlier).
    pub fn lock_user(&mut self, until: UnixTime) {
        self.locked_until = Some(until);
        self.failures.clear();
        self.remotes.clear();
    }

    /// A right code from `remote`: that remote's failures are forgotten.
    pub fn clear_remote(&mut self, remote: Option<&str>) {
        let key = remote_key(remote);
        self.remotes.retain(|r| r.remote != key);
    }
}

/// A passed MFA for one service and remote host.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MfaMark {
    /// PAM service or IdP application.
    pub service: String,
    /// Remote host, if any.
    pub remote: Option<String>,
    /// When.
    pub at: UnixTime,
}

/// Everything stored about one user.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRecord {
    /// Record format version.
    pub schema: u32,
    /// First time a policy that requires MFA saw this user (grace starts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_seen: Option<UnixTime>,
    /// An enrollment deadline opened by an admin reset; overrides `first_seen`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enroll_by: Option<UnixTime>,
    /// Active authenticator app.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub totp: Option<TotpFactor>,
    /// Authenticator app awaiting its confirmation code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_totp: Option<TotpFactor>,
    /// Active SMS number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sms: Option<SmsFactor>,
    /// SMS number awaiting confirmation, with the code sent to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_sms: Option<(SmsFactor, SmsChallenge)>,
    /// Login code sent by SMS and not yet used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sms_challenge: Option<SmsChallenge>,
    /// Times of SMS sends in the last hour (rate limits).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sms_sends: Vec<UnixTime>,
    /// Recovery codes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery: Option<RecoverySet>,
    /// Failures and lock.
    #[serde(default, skip_serializing_if = "Lockout::is_clear")]
    pub lockout: Lockout,
    /// Recent passed MFAs per service and remote host.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub marks: Vec<MfaMark>,
    /// Latest passed MFA anywhere (step-up).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_mfa: Option<UnixTime>,
    /// Sequence number of this user's next audit event; the events themselves
    /// are stored beside the record (see `engine::audit_trail`).
    #[serde(default)]
    pub audit_next: u64,
}

impl Default for UserRecord {
    fn default() -> Self {
        UserRecord {
            schema: SCHEMA_VERSION,
            first_seen: None,
            enroll_by: None,
            totp: None,
            pending_totp: None,
            sms: None,
            pending_sms: None,
            sms_challenge: None,
            sms_sends: Vec::new(),
            recovery: None,
            lockout: Lockout::default(),
            marks: Vec::new(),
            last_mfa: None,
            audit_next: 0,
        }
    }
}

impl UserRecord {
    /// Decodes a stored record, refusing schema versions this build does not
    /// read. An older record comes back marked with [`SCHEMA_VERSION`], since
    /// it is written in that format if it is changed.
    pub fn decode(key: &str, bytes: &[u8]) -> Result<UserRecord, StoreError> {
        #[derive(Deserialize)]
        struct Head {
            schema: u32,
        }
        let corrupt = |detail: String| StoreError::Corrupt {
            key: key.to_owned(),
            detail,
        };
        let wrong_schema = |schema: u32| {
            corrupt(format!(
                "schema version {schema} (this build reads {OLDEST_SCHEMA_READ} to {SCHEMA_VERSION})"
            ))
        };
        let readable = OLDEST_SCHEMA_READ..=SCHEMA_VERSION;
        // One parse on the hot path; the schema is looked at separately only
        // to explain a record this build cannot read.
        match serde_json::from_slice::<UserRecord>(bytes) {
            Ok(mut rec) if readable.contains(&rec.schema) => {
                rec.schema = SCHEMA_VERSION;
                Ok(rec)
            }
            Ok(rec) => Err(wrong_schema(rec.schema)),
            Err(e) => match serde_json::from_slice::<Head>(bytes) {
                Ok(head) if !readable.contains(&head.schema) => Err(wrong_schema(head.schema)),
                _ => Err(corrupt(e.to_string())),
            },
        }
    }

    /// Encodes for storage.
    pub fn encode(&self) -> Vec<u8> {
        // Serialising plain data with string keys cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Whether any second factor is active (recovery codes alone are not one).
    pub fn enrolled(&self) -> bool {
        self.totp.is_some() || self.sms.is_some()
    }

    /// Factors the user can answer with now.
    pub fn factors(&self, sms_enabled: bool) -> Vec<Factor> {
        let mut out = Vec::new();
        if self.totp.is_some() {
            out.push(Factor::Totp);
        }
        if sms_enabled && self.sms.is_some() {
            out.push(Factor::Sms);
        }
        if self.recovery.as_ref().is_some_and(|r| r.remaining() > 0) {
            out.push(Factor::Recovery);
        }
        out
    }

    /// Whether a user-wide lock is in force at `now`.
    pub fn locked_until(&self, now: UnixTime) -> Option<UnixTime> {
        self.lockout.locked_until.filter(|until| *until > now)
    }

    /// Whether a lock is in force at `now` for a login from `remote`: the
    /// user-wide lock or that remote's.
    pub fn locked_until_from(&self, remote: Option<&str>, now: UnixTime) -> Option<UnixTime> {
        self.lockout.locked_until(remote, now)
    }

    /// Records a passed MFA for `service` and `remote` at `now`.
    pub fn mark_mfa(&mut self, service: &str, remote: Option<&str>, now: UnixTime) {
        self.last_mfa = Some(now);
        self.marks
            .retain(|m| !(m.service == service && m.remote.as_deref() == remote));
        self.marks.push(MfaMark {
            service: service.to_owned(),
            remote: remote.map(str::to_owned),
            at: now,
        });
        if self.marks.len() > MAX_MARKS {
            let excess = self.marks.len() - MAX_MARKS;
            self.marks.drain(..excess);
        }
    }

    /// When MFA last passed for this service and remote host.
    pub fn mark_for(&self, service: &str, remote: Option<&str>) -> Option<UnixTime> {
        self.marks
            .iter()
            .find(|m| m.service == service && m.remote.as_deref() == remote)
            .map(|m| m.at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_other_schemas() {
        let mut r = UserRecord::default();
        r.mark_mfa("sshd", Some("192.0.2.1"), UnixTime(5));
        let bytes = r.encode();
        assert_eq!(UserRecord::decode("user/a", &bytes).unwrap(), r);
        let future = String::from_utf8(bytes)
            .unwrap()
            .replace("\"schema\":2", "\"schema\":3");
        let e = UserRecord::decode("user/a", future.as_bytes()).unwrap_err();
        assert!(e.to_string().contains("schema version 3"), "{e}");
        assert!(matches!(
            UserRecord::decode("user/a", b"{not json"),
            Err(StoreError::Corrupt { .. })
        ));
    }

    #[test]
    fn marks_are_bounded_and_replaced() {
        let mut r = UserRecord::default();
        for i in 0..40 {
            r.mark_mfa("sshd", Some(&format!("h{i}")), UnixTime(i));
        }
        r.mark_mfa("sshd", Some("h39"), UnixTime(100));
        assert_eq!(r.marks.len(), MAX_MARKS);
        assert_eq!(r.mark_for("sshd", Some("h39")), Some(UnixTime(100)));
        assert_eq!(r.mark_for("sshd", Some("h0")), None);
    }
}
