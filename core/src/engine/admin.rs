//! Status, admin reset and unlock, audit queries.

use super::Engine;
use crate::audit::{AuditEvent, AuditKind, Factor};
use crate::delivery::{Notice, NoticeKind};
use crate::error::Error;
use crate::policy::Mode;
use crate::record::{user_key, Lockout, UserRecord, SCHEMA_VERSION, USER_KEY_PREFIX};
use crate::store::StoreError;
use crate::time::UnixTime;
use serde::Serialize;

/// Longest admin reason kept in the audit log.
const MAX_REASON: usize = 200;

/// A remote host locked out for one user.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RemoteLock {
    /// The remote host as the door reported it; `None` for local logins.
    pub remote: Option<String>,
    /// Until when.
    pub until: UnixTime,
}

/// What an admin or the user sees about an account (no secrets).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UserStatus {
    /// User name.
    pub user: String,
    /// Whether a second factor is active.
    pub enrolled: bool,
    /// Factors usable now.
    pub factors: Vec<Factor>,
    /// Factors begun but not confirmed.
    pub pending: Vec<Factor>,
    /// When the authenticator app was enrolled.
    pub totp_since: Option<UnixTime>,
    /// When it was last used.
    pub totp_last_used: Option<UnixTime>,
    /// The SMS number, masked.
    pub sms_number: Option<String>,
    /// When it was last used.
    pub sms_last_used: Option<UnixTime>,
    /// Unused recovery codes.
    pub recovery_remaining: u32,
    /// Locked everywhere until then.
    pub locked_until: Option<UnixTime>,
    /// Remote hosts locked out for this user (too many wrong codes from
    /// there), each until when; logins from elsewhere still get in.
    pub remote_locks: Vec<RemoteLock>,
    /// Failures in the current lockout window.
    pub recent_failures: u32,
    /// When enrollment becomes overdue, for a user the policy requires and who
    /// has not enrolled (under `optional`, only after an admin reset).
    pub enroll_by: Option<UnixTime>,
    /// Latest passed MFA.
    pub last_mfa: Option<UnixTime>,
    /// When an admin reset, a lock or a change of factors last ended the
    /// user's sessions.
    pub sessions_valid_after: Option<UnixTime>,
    /// How many times they were ended: a session noted at another count is
    /// void.
    pub sessions_epoch: u64,
    /// Registered passkeys and security keys (never a key).
    pub passkeys: Vec<super::PasskeyInfo>,
    /// Stored record format.
    pub schema: u32,
}

/// Makes an admin's free text safe for one log line.
fn clean_reason(reason: &str) -> String {
    let mut out: String = reason
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_REASON)
        .collect();
    out = out.trim().to_owned();
    if out.is_empty() {
        "(no reason given)".into()
    } else {
        out
    }
}

impl Engine<'_> {
    /// The account's state.
    pub fn status(&self, user: &str, now: UnixTime) -> Result<UserStatus, Error> {
        let rec = self.load(user, now)?;
        let mut pending = Vec::new();
        if rec.pending_totp.is_some() {
            pending.push(Factor::Totp);
        }
        if rec.pending_sms.is_some() {
            pending.push(Factor::Sms);
        }
        let enroll_by = match (rec.enrolled(), rec.enroll_by, rec.first_seen) {
            (true, _, _) => None,
            (false, Some(by), _) => Some(by),
            (false, None, Some(seen)) if self.policy.enforcement.mode != Mode::Optional => {
                Some(seen.plus(self.policy.enforcement.grace_period))
            }
            _ => None,
        };
        Ok(UserStatus {
            user: user.to_owned(),
            enrolled: rec.enrolled(),
            factors: rec.factors(self.policy.sms.enabled, self.policy.passkeys.enabled),
            pending,
            totp_since: rec.totp.as_ref().map(|t| t.since),
            totp_last_used: rec.totp.as_ref().and_then(|t| t.last_used),
            sms_number: rec.sms.as_ref().and_then(|s| self.masked_phone(user, s)),
            sms_last_used: rec.sms.as_ref().and_then(|s| s.last_used),
            recovery_remaining: rec.recovery.as_ref().map_or(0, |r| r.remaining() as u32),
            locked_until: rec.locked_until(now),
            remote_locks: rec
                .lockout
                .remotes
                .iter()
                .filter_map(|r| {
                    r.locked_until.filter(|u| *u > now).map(|until| RemoteLock {
                        remote: r.remote.clone(),
                        until,
                    })
                })
                .collect(),
            recent_failures: rec
                .lockout
                .failures
                .iter()
                .filter(|t| now.since(**t) < self.policy.lockout.window)
                .count() as u32,
            enroll_by,
            last_mfa: rec.last_mfa,
            sessions_valid_after: rec.sessions_valid_after,
            sessions_epoch: rec.sessions_epoch,
            passkeys: rec.passkeys.iter().map(super::PasskeyInfo::from).collect(),
            schema: SCHEMA_VERSION,
        })
    }

    /// Wipes every factor of `user` after out-of-band identity checks: audits
    /// it, tells the user, and opens a fresh enrollment window (`[reset] grace`).
    /// A stored record no host can open (made under another seal key, or
    /// changed without it), or one the store refuses as older than one it
    /// wrote (a rollback), is replaced by a fresh one: a reset keeps nothing
    /// of it anyway, and nothing else can clear it.
    pub fn admin_reset(&self, user: &str, reason: &str, now: UnixTime) -> Result<(), Error> {
        match self.reset_readable(user, reason, now) {
            Err(Error::Store(StoreError::Tampered { .. } | StoreError::Corrupt { .. })) => {
                self.replace_unreadable(user, reason, now)
            }
            other => other,
        }
    }

    fn replace_unreadable(&self, user: &str, given: &str, now: UnixTime) -> Result<(), Error> {
        let key = user_key(user);
        let reason = format!(
            "{} (the stored record could not be read and was replaced)",
            clean_reason(given)
        );
        let first = self.with_trail(|t| t.next_sequence(user))?;
        for _ in 0..16 {
            let Some(current) = self.store.get_past_rollback(&key)? else {
                // Gone meanwhile: an ordinary reset of no record.
                return self.reset_readable(user, given, now);
            };
            let mut rec = UserRecord {
                enroll_by: Some(now.plus(self.policy.reset.grace)),
                // Whatever count the old sessions were noted at, not this one.
                sessions_epoch: now.0,
                audit_next: first,
                ..UserRecord::default()
            };
            rec.end_sessions(now);
            let events = [AuditEvent {
                at: now,
                user: user.to_owned(),
                service: None,
                remote: None,
                host: self.origin_host(),
                kind: AuditKind::Reset {
                    reason: reason.clone(),
                },
            }];
            rec.audit_next += 1;
            let sealed = rec.seal(self.key, &key);
            if self.swap_recording(user, &key, Some(current.version), &sealed, first, &events)? {
                if let Some(sink) = self.sink {
                    sink.record(&events[0]);
                }
                let notice = Notice {
                    user: user.to_owned(),
                    kind: NoticeKind::Reset,
                    at: now,
                };
                if let Err(e) = self.delivery.send_notice(&notice) {
                    let _ = self.notice_not_delivered(user, e.reason(), now);
                }
                return Ok(());
            }
        }
        Err(StoreError::Contention.into())
    }

    fn reset_readable(&self, user: &str, reason: &str, now: UnixTime) -> Result<(), Error> {
        let reason = clean_reason(reason);
        let window = self.policy.reset.grace;
        self.update(user, None, now, |tx| {
            let had_totp = tx.rec.totp.take().is_some();
            let had_sms = tx.rec.sms.take().is_some();
            let passkeys = std::mem::take(&mut tx.rec.passkeys);
            tx.rec.passkey_challenges.clear();
            tx.rec.pending_totp = None;
            tx.rec.pending_sms = None;
            tx.rec.sms_challenge = None;
            tx.rec.recovery = None;
            tx.rec.lockout = Lockout::default();
            tx.rec.marks.clear();
            tx.rec.last_mfa = None;
            tx.rec.last_mfa_origin = None;
            tx.rec.last_mfa_phishing_resistant = false;
            tx.rec.end_sessions(now);
            tx.rec.enroll_by = Some(now.plus(window));
            tx.audit(AuditKind::Reset {
                reason: reason.clone(),
            });
            for (had, factor) in [(had_totp, Factor::Totp), (had_sms, Factor::Sms)] {
                if had {
                    tx.audit(AuditKind::FactorRemoved { factor });
                }
            }
            for passkey in passkeys {
                tx.audit(AuditKind::PasskeyRemoved { name: passkey.name });
            }
            tx.notify(NoticeKind::Reset);
            Ok(())
        })
    }

    /// Lifts a lock and clears counted failures.
    pub fn admin_unlock(&self, user: &str, now: UnixTime) -> Result<(), Error> {
        self.update(user, None, now, |tx| {
            tx.rec.lockout = Lockout::default();
            tx.audit(AuditKind::Unlocked);
            Ok(())
        })
    }

    /// Every user with a stored record.
    pub fn users(&self) -> Result<Vec<String>, Error> {
        Ok(self
            .store
            .keys(USER_KEY_PREFIX)?
            .into_iter()
            .filter_map(|k| k.strip_prefix(USER_KEY_PREFIX).map(str::to_owned))
            .collect())
    }
}
