//! A user's stored state: factors, lockout, grace, recent MFA and audit trail.
//!
//! One record per user under `user/NAME`, JSON with a schema version. Secrets
//! inside are [`Sealed`]; codes are peppered hashes. From schema 3 on, the
//! whole record is authenticated under the seal key, bound to its store key
//! and schema ([`UserRecord::seal`], [`UserRecord::open`]): a writer without
//! the key (the state service, a database administrator, a copied database)
//! cannot change a field, move a record to another user, or roll a field
//! back, without the record being refused.

use crate::approval::LoginApproval;
use crate::audit::Factor;
use crate::hotp::Algorithm;
use crate::recovery::RecoverySet;
use crate::seal::{SealKey, Sealed};
use crate::sms::SmsChallenge;
use crate::store::StoreError;
use crate::time::UnixTime;
use crate::webauthn::{OpenChallenge, StoredPasskey};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The record format this build writes. It reads this one and
/// [`OLDEST_SCHEMA_READ`] onwards; a record it changes is written in this one.
///
/// 2: recovery code hashes as one string (see `recovery::stored_form`); empty
/// and absent fields left out.
/// 3: the whole record authenticated (`PXR\x03`, a 32-byte HMAC-SHA256 tag
/// under a key derived from the seal key, then the JSON); recovery and SMS
/// code hashes peppered with the seal key.
pub const SCHEMA_VERSION: u32 = 3;

/// The last schema stored without authentication; read, and rewritten as
/// [`SCHEMA_VERSION`] on its next change, until the database is marked
/// upgraded ([`UPGRADED_KEY`]).
pub const LAST_UNAUTHENTICATED_SCHEMA: u32 = 2;

/// First bytes of an authenticated record.
const SEALED_MAGIC: &[u8; 4] = b"PXR\x03";
/// Length of a record's authentication tag.
const TAG_LEN: usize = 32;

/// Store key of the mark that every record of this database has been
/// rewritten in an authenticated schema: from then on an unauthenticated
/// record is refused (it can only be a downgrade by a writer without the key).
pub const UPGRADED_KEY: &str = "meta/records-authenticated";

/// The body of the [`UPGRADED_KEY`] mark.
const UPGRADED_BODY: &[u8] = b"{\"min_schema\":3}";

/// Wraps `body` stored under `key` with its tag.
pub(crate) fn seal_bytes(seal: &SealKey, key: &str, body: &[u8]) -> Vec<u8> {
    let tag = seal.record_tag(SCHEMA_VERSION, key, body);
    let mut out = Vec::with_capacity(SEALED_MAGIC.len() + TAG_LEN + body.len());
    out.extend_from_slice(SEALED_MAGIC);
    out.extend_from_slice(&tag);
    out.extend_from_slice(body);
    out
}

/// The body of an authenticated value, if `bytes` is one; `Err` if its tag
/// does not match; `Ok(None)` if it is not in the authenticated form at all.
pub(crate) fn open_bytes<'b>(
    seal: &SealKey,
    key: &str,
    bytes: &'b [u8],
) -> Result<Option<&'b [u8]>, StoreError> {
    let Some(rest) = bytes.strip_prefix(SEALED_MAGIC) else {
        return Ok(None);
    };
    let (tag, body) = rest
        .split_at_checked(TAG_LEN)
        .ok_or_else(|| StoreError::Tampered {
            key: key.to_owned(),
            detail: "shorter than its authentication tag".into(),
        })?;
    if !seal.record_tag_matches(SCHEMA_VERSION, key, body, tag) {
        return Err(StoreError::Tampered {
            key: key.to_owned(),
            detail: "its authentication tag does not match: it was changed, copied from another record, or written without this host's seal key".into(),
        });
    }
    Ok(Some(body))
}

/// Whether `bytes` is in the authenticated form (whatever its tag says).
pub fn is_authenticated_form(bytes: &[u8]) -> bool {
    bytes.starts_with(SEALED_MAGIC)
}

/// The mark that the database's records are all authenticated.
pub fn upgraded_mark(seal: &SealKey) -> Vec<u8> {
    seal_bytes(seal, UPGRADED_KEY, UPGRADED_BODY)
}

/// Whether `bytes` is a genuine [`UPGRADED_KEY`] mark.
pub fn is_upgraded_mark(seal: &SealKey, bytes: &[u8]) -> bool {
    matches!(open_bytes(seal, UPGRADED_KEY, bytes), Ok(Some(body)) if body == UPGRADED_BODY)
}

/// What a stored record says of itself, read without its tag checked: for
/// a party without the seal key (a host's state service) to tell an older
/// record from a newer one. Only ever a reason to refuse, never to trust.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Facts {
    /// [`UserRecord::audit_next`]: grows with every audited change.
    pub audit_next: u64,
    /// [`UserRecord::sessions_epoch`]: grows at every reset, lock and
    /// change of factors.
    pub sessions_epoch: u64,
    /// An app, a phone or a passkey is enrolled.
    pub enrolled: bool,
}

/// The [`Facts`] of a stored record in the authenticated form (`None` for
/// anything else, or a body that does not decode).
pub fn unverified_facts(bytes: &[u8]) -> Option<Facts> {
    #[derive(Deserialize)]
    struct Seen {
        #[serde(default)]
        audit_next: u64,
        #[serde(default)]
        sessions_epoch: u64,
        #[serde(default)]
        totp: Option<serde::de::IgnoredAny>,
        #[serde(default)]
        sms: Option<serde::de::IgnoredAny>,
        #[serde(default)]
        passkeys: Option<serde::de::IgnoredAny>,
    }
    let body = bytes
        .strip_prefix(SEALED_MAGIC.as_slice())?
        .get(TAG_LEN..)?;
    let seen: Seen = serde_json::from_slice(body).ok()?;
    Some(Facts {
        audit_next: seen.audit_next,
        sessions_epoch: seen.sessions_epoch,
        // Stored only when there is one.
        enrolled: seen.totp.is_some() || seen.sms.is_some() || seen.passkeys.is_some(),
    })
}

/// How a stored record was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Provenance {
    /// Authenticated under the seal key.
    Authenticated,
    /// An older, unauthenticated schema.
    Unauthenticated,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// The oldest record format this build still reads.
pub const OLDEST_SCHEMA_READ: u32 = 1;

/// Most recent MFA marks kept per user (service × remote host pairs).
const MAX_MARKS: usize = 16;

/// What every user record's store key starts with.
pub const USER_KEY_PREFIX: &str = "user/";

/// Store key of a user's record.
pub fn user_key(user: &str) -> String {
    format!("{USER_KEY_PREFIX}{user}")
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
    /// Registered passkeys and security keys.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub passkeys: Vec<StoredPasskey>,
    /// The user's WebAuthn user handle (base64url of random bytes, never the
    /// name), made at the first registration and kept across all of them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passkey_user: Option<String>,
    /// Passkey registration challenges issued and not yet answered.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub passkey_challenges: Vec<OpenChallenge>,
    /// Sign-in challenges this user's passkeys answered, until they expire
    /// (those challenges are stateless: this keeps each to one use).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub spent_challenges: Vec<OpenChallenge>,
    /// Terminal logins waiting for, or answered with, an approval at the
    /// identity provider (at most the policy's `max_pending` waiting).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub approvals: Vec<LoginApproval>,
    /// When a code typed at the approval page matched none of the user's
    /// requests, within the last lifetime (a bound on guessing).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub approval_misses: Vec<UnixTime>,
    /// Failures and lock.
    #[serde(default, skip_serializing_if = "Lockout::is_clear")]
    pub lockout: Lockout,
    /// Recent passed MFAs per service and remote host.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub marks: Vec<MfaMark>,
    /// Latest passed MFA anywhere (step-up).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_mfa: Option<UnixTime>,
    /// The host `last_mfa` passed on (a fleet host's name); `None` on a
    /// single host or in the component. A step-up under
    /// `step_up_scope = "session"` counts it only on that host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_mfa_origin: Option<String>,
    /// Whether `last_mfa` was phishing-resistant (a passkey).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub last_mfa_phishing_resistant: bool,
    /// When an admin reset, a lock or a change of factors last ended the
    /// user's sessions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sessions_valid_after: Option<UnixTime>,
    /// How many times the user's sessions were ended: a door that keeps
    /// sessions (the identity provider) notes it when a session is proven
    /// and refuses the session once it moved. A count, not a time: a reset
    /// in the same second as a sign-in still ends it.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub sessions_epoch: u64,
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
            passkeys: Vec::new(),
            passkey_user: None,
            passkey_challenges: Vec::new(),
            spent_challenges: Vec::new(),
            approvals: Vec::new(),
            approval_misses: Vec::new(),
            lockout: Lockout::default(),
            marks: Vec::new(),
            last_mfa: None,
            last_mfa_origin: None,
            last_mfa_phishing_resistant: false,
            sessions_valid_after: None,
            sessions_epoch: 0,
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

    /// Encodes the record's JSON body (what [`UserRecord::seal`] authenticates).
    pub fn encode(&self) -> Vec<u8> {
        // Serialising plain data with string keys cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// The record as stored under `key`: authenticated under `seal`.
    pub fn seal(&self, seal: &SealKey, key: &str) -> Vec<u8> {
        seal_bytes(seal, key, &self.encode())
    }

    /// Reads a stored record: an authenticated one must carry a matching tag
    /// for exactly this `key` (else [`StoreError::Tampered`]); an
    /// unauthenticated one is read only in the schemas written before
    /// authentication existed, and said to be one.
    pub fn open(
        seal: &SealKey,
        key: &str,
        bytes: &[u8],
    ) -> Result<(UserRecord, Provenance), StoreError> {
        if let Some(body) = open_bytes(seal, key, bytes)? {
            let rec = UserRecord::decode(key, body)?;
            return Ok((rec, Provenance::Authenticated));
        }
        #[derive(Deserialize)]
        struct Head {
            schema: u32,
        }
        match serde_json::from_slice::<Head>(bytes) {
            Ok(head)
                if head.schema > LAST_UNAUTHENTICATED_SCHEMA && head.schema <= SCHEMA_VERSION =>
            {
                Err(StoreError::Tampered {
                    key: key.to_owned(),
                    detail: format!(
                        "a schema {} record without its authentication tag",
                        head.schema
                    ),
                })
            }
            _ => Ok((UserRecord::decode(key, bytes)?, Provenance::Unauthenticated)),
        }
    }

    /// Whether any second factor is active (recovery codes alone are not one).
    pub fn enrolled(&self) -> bool {
        self.totp.is_some() || self.sms.is_some() || !self.passkeys.is_empty()
    }

    /// Whether a passkey not suspected of being cloned is registered.
    pub fn has_usable_passkey(&self) -> bool {
        self.passkeys.iter().any(|p| p.cloned_at.is_none())
    }

    /// Factors the user can answer with now, as the policy has SMS and
    /// passkeys on or off.
    pub fn factors(&self, sms_enabled: bool, passkeys_enabled: bool) -> Vec<Factor> {
        let mut out = Vec::new();
        if self.totp.is_some() {
            out.push(Factor::Totp);
        }
        if sms_enabled && self.sms.is_some() {
            out.push(Factor::Sms);
        }
        if passkeys_enabled && self.has_usable_passkey() {
            out.push(Factor::Passkey);
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
    pub fn mark_mfa(
        &mut self,
        service: &str,
        remote: Option<&str>,
        origin: Option<&str>,
        now: UnixTime,
    ) {
        self.passed_mfa(origin, now);
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

    /// A second factor passed at `now` on `origin` (a fleet host, or `None`),
    /// without a remembered mark: an enrollment confirmed with a code.
    pub fn passed_mfa(&mut self, origin: Option<&str>, now: UnixTime) {
        self.last_mfa = Some(now);
        self.last_mfa_origin = origin.map(str::to_owned);
        self.last_mfa_phishing_resistant = false;
    }

    /// Ends every session established before (never moves back); call once
    /// per change.
    pub fn end_sessions(&mut self, now: UnixTime) {
        self.sessions_valid_after = self.sessions_valid_after.max(Some(now));
        self.sessions_epoch = self.sessions_epoch.saturating_add(1);
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
        r.mark_mfa("sshd", Some("192.0.2.1"), None, UnixTime(5));
        let bytes = r.encode();
        assert_eq!(UserRecord::decode("user/a", &bytes).unwrap(), r);
        let future = String::from_utf8(bytes)
            .unwrap()
            .replace("\"schema\":3", "\"schema\":4");
        let e = UserRecord::decode("user/a", future.as_bytes()).unwrap_err();
        assert!(e.to_string().contains("schema version 4"), "{e}");
        assert!(matches!(
            UserRecord::decode("user/a", b"{not json"),
            Err(StoreError::Corrupt { .. })
        ));
    }

    fn key() -> SealKey {
        SealKey::from_bytes(&[9; 32]).unwrap()
    }

    #[test]
    fn facts_are_read_without_the_key_from_authenticated_records_only() {
        let r = UserRecord {
            audit_next: 7,
            sessions_epoch: 2,
            ..UserRecord::default()
        };
        let stored = r.seal(&key(), "user/alice");
        assert_eq!(
            unverified_facts(&stored),
            Some(Facts {
                audit_next: 7,
                sessions_epoch: 2,
                enrolled: false
            })
        );
        let mut enrolled = stored[..SEALED_MAGIC.len() + TAG_LEN].to_vec();
        enrolled.extend_from_slice(br#"{"schema":3,"audit_next":9,"totp":{"any":"thing"}}"#);
        assert_eq!(
            unverified_facts(&enrolled),
            Some(Facts {
                audit_next: 9,
                sessions_epoch: 0,
                enrolled: true
            })
        );
        assert_eq!(unverified_facts(&r.encode()), None);
        assert_eq!(unverified_facts(&stored[..10]), None);
    }

    #[test]
    fn sealed_records_open_only_unchanged_under_their_own_key() {
        let seal = key();
        let mut r = UserRecord::default();
        r.mark_mfa("sshd", Some("192.0.2.1"), None, UnixTime(5));
        r.first_seen = Some(UnixTime(1));
        let stored = r.seal(&seal, "user/alice");
        assert_eq!(
            UserRecord::open(&seal, "user/alice", &stored).unwrap(),
            (r.clone(), Provenance::Authenticated)
        );
        let tampered = |bytes: &[u8], key: &str| {
            matches!(
                UserRecord::open(&seal, key, bytes),
                Err(StoreError::Tampered { .. })
            )
        };
        // Moved to another user.
        assert!(tampered(&stored, "user/bob"));
        // Any byte of the tag or the body changed.
        for i in 0..stored.len() {
            let mut b = stored.clone();
            b[i] ^= 0x20;
            assert!(
                tampered(&b, "user/alice") || UserRecord::open(&seal, "user/alice", &b).is_err(),
                "a change at byte {i} went unnoticed"
            );
        }
        // Cut short.
        assert!(tampered(&stored[..20], "user/alice"));
        // Another seal key.
        let other = SealKey::from_bytes(&[8; 32]).unwrap();
        assert!(matches!(
            UserRecord::open(&other, "user/alice", &stored),
            Err(StoreError::Tampered { .. })
        ));
        // The body alone, as if written without the key, claiming schema 3.
        assert!(tampered(&r.encode(), "user/alice"));
    }

    #[test]
    fn schema_2_records_are_read_as_unauthenticated() {
        let legacy = br#"{"schema":2,"first_seen":7}"#;
        let (rec, provenance) = UserRecord::open(&key(), "user/alice", legacy).unwrap();
        assert_eq!(provenance, Provenance::Unauthenticated);
        assert_eq!(rec.first_seen, Some(UnixTime(7)));
        assert_eq!(rec.schema, SCHEMA_VERSION);
        assert!(is_upgraded_mark(&key(), &upgraded_mark(&key())));
        assert!(!is_upgraded_mark(&key(), b"{}"));
    }

    #[test]
    fn marks_are_bounded_and_replaced() {
        let mut r = UserRecord::default();
        for i in 0..40 {
            r.mark_mfa("sshd", Some(&format!("h{i}")), None, UnixTime(i));
        }
        r.mark_mfa("sshd", Some("h39"), None, UnixTime(100));
        assert_eq!(r.marks.len(), MAX_MARKS);
        assert_eq!(r.mark_for("sshd", Some("h39")), Some(UnixTime(100)));
        assert_eq!(r.mark_for("sshd", Some("h0")), None);
    }
}
