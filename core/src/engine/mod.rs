//! The engine: policy + store + seal key + delivery, one operation per method.
//!
//! Every method takes `now` and, where it creates secrets, a [`Random`]. State
//! changes go through [`Engine::update`]: read the record, compute on a copy,
//! compare-and-swap, retry on conflict. Side effects (SMS, notices, audit sink)
//! happen only after the change is committed.

mod admin;
mod approval;
mod audit_trail;
mod challenge;
mod decide;
mod enroll;
mod passkey;
mod passwordless;
mod remove;
mod sms;
mod verify;

pub use admin::{RemoteLock, UserStatus};
pub use approval::{
    Answered, ApprovalAnswer, ApprovalError, ApprovalOutcome, ApprovalStart, ApprovalView,
    MAX_CODE_MISSES,
};
pub use enroll::{EnrolledTotp, TotpEnrollment, TotpParams};
pub use passkey::{PasskeyError, PasskeyInfo, PasskeyRefusal, PasskeyVerification};
pub use passwordless::PasswordlessVerification;
pub use verify::Verification;

use crate::audit::{AuditEvent, AuditKind, AuditSink};
use crate::decision::Context;
use crate::delivery::{Delivery, NoDelivery, Notice, NoticeKind};
use crate::error::Error;
use crate::input::validate_user_name;
use crate::policy::Policy;
use crate::record::{
    is_authenticated_form, upgraded_mark, user_key, Provenance, UserRecord, UPGRADED_KEY,
    USER_KEY_PREFIX,
};
use crate::seal::SealKey;
use crate::store::{Cas, Store, StoreError};
use crate::time::UnixTime;
use crate::trail::AuditTrail;

/// Compare-and-swap attempts before giving up with `StoreError::Contention`.
const MAX_CAS_ATTEMPTS: usize = 1000;

/// The MFA engine for one policy, seal key and store.
pub struct Engine<'a> {
    policy: &'a Policy,
    key: &'a SealKey,
    store: &'a dyn Store,
    delivery: &'a dyn Delivery,
    sink: Option<&'a dyn AuditSink>,
    trail: Option<&'a dyn AuditTrail>,
    origin: Option<&'a str>,
}

impl core::fmt::Debug for Engine<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Engine")
            .field("policy", self.policy)
            .finish_non_exhaustive()
    }
}

/// One attempt at changing a record: the copy being changed and the events it causes.
pub(crate) struct Tx<'r> {
    pub(crate) rec: &'r mut UserRecord,
    pub(crate) now: UnixTime,
    user: &'r str,
    ctx: Option<&'r Context>,
    origin: Option<&'r str>,
    events: Vec<AuditEvent>,
    notices: Vec<NoticeKind>,
}

impl Tx<'_> {
    /// Records an audit event (stored and sent to the sink on commit).
    pub(crate) fn audit(&mut self, kind: AuditKind) {
        self.events.push(AuditEvent {
            at: self.now,
            user: self.user.to_owned(),
            service: self
                .ctx
                .map(|c| c.service.clone())
                .filter(|s| !s.is_empty()),
            remote: self.ctx.and_then(|c| c.remote.clone()),
            host: self.origin.map(str::to_owned),
            kind,
        });
    }

    /// Queues a notice to the user, sent after commit.
    pub(crate) fn notify(&mut self, kind: NoticeKind) {
        self.notices.push(kind);
    }
}

impl<'a> Engine<'a> {
    /// An engine that delivers nothing and logs only to the store.
    pub fn new(policy: &'a Policy, key: &'a SealKey, store: &'a dyn Store) -> Self {
        Engine {
            policy,
            key,
            store,
            delivery: &NoDelivery,
            sink: None,
            trail: None,
            origin: None,
        }
    }

    /// Stamps every audit event with `host`, the machine it happened on (a
    /// fleet's hosts share one trail in the shared store).
    pub fn with_origin(mut self, host: &'a str) -> Self {
        self.origin = Some(host);
        self
    }

    /// Sends SMS codes and notices through `delivery`.
    pub fn with_delivery(mut self, delivery: &'a dyn Delivery) -> Self {
        self.delivery = delivery;
        self
    }

    /// Hands every committed audit event to `sink` (syslog, a test log).
    pub fn with_audit_sink(mut self, sink: &'a dyn AuditSink) -> Self {
        self.sink = Some(sink);
        self
    }

    /// Keeps audit events in `trail` instead of the record store (the
    /// default, [`crate::trail::StoreTrail`]).
    pub fn with_audit_trail(mut self, trail: &'a dyn AuditTrail) -> Self {
        self.trail = Some(trail);
        self
    }

    /// The host this engine stamps on audit events, if any.
    pub(crate) fn origin_host(&self) -> Option<String> {
        self.origin.map(str::to_owned)
    }

    /// The policy in force.
    pub fn policy(&self) -> &Policy {
        self.policy
    }

    /// Reads a user's record (a default one if none is stored).
    pub(crate) fn load(&self, user: &str, now: UnixTime) -> Result<UserRecord, Error> {
        validate_user_name(user)?;
        let key = user_key(user);
        match self.get_record(user, &key, now)? {
            Some(v) => Ok(self.read(user, &key, &v.value, now)?.0),
            None => Ok(UserRecord::default()),
        }
    }

    /// Audits a refused record (a failed check here, or a rollback the
    /// store saw) at error level, in the sink and in the trail (on a shared
    /// store, the fleet's), and returns the refusal.
    fn refuse(&self, user: &str, e: StoreError, now: UnixTime) -> Error {
        let event = AuditEvent {
            at: now,
            user: user.to_owned(),
            service: None,
            remote: None,
            host: self.origin.map(str::to_owned),
            kind: AuditKind::RecordRefused {
                detail: e.to_string(),
            },
        };
        if let Some(sink) = self.sink {
            sink.record(&event);
        }
        if let Err(failed) = self.with_trail(|t| t.append_unnumbered(user, &event)) {
            if let Some(sink) = self.sink {
                sink.trail_failed(user, &failed.to_string());
            }
        }
        e.into()
    }

    /// The stored record of `user` under `key`; a record the store itself
    /// refuses (a rollback) is audited as refused.
    pub(crate) fn get_record(
        &self,
        user: &str,
        key: &str,
        now: UnixTime,
    ) -> Result<Option<crate::store::Versioned>, Error> {
        match self.store.get(key) {
            Err(e @ StoreError::Tampered { .. }) => Err(self.refuse(user, e, now)),
            other => Ok(other?),
        }
    }

    /// Authenticates and decodes the record stored under `key`. A record that
    /// fails its check is refused (never reset), and the refusal reaches the
    /// audit sink at error level.
    fn read(
        &self,
        user: &str,
        key: &str,
        bytes: &[u8],
        now: UnixTime,
    ) -> Result<(UserRecord, Provenance), Error> {
        let refused = |e: StoreError| self.refuse(user, e, now);
        // Written before records were authenticated: read, and rewritten
        // authenticated on its next change; unless every record has been
        // rewritten already, when an unauthenticated one can only be a
        // downgrade by a writer without the key.
        if !is_authenticated_form(bytes) {
            if self.store.authenticated_only() {
                return Err(refused(StoreError::Tampered {
                    key: key.to_owned(),
                    detail: "an unauthenticated record in a shared store, which holds only authenticated ones".into(),
                }));
            }
            if self.store.get(UPGRADED_KEY)?.is_some() {
                return Err(refused(StoreError::Tampered {
                    key: key.to_owned(),
                    detail: "an unauthenticated record in a database whose records were all rewritten authenticated".into(),
                }));
            }
        }
        match UserRecord::open(self.key, key, bytes) {
            Ok(found) => Ok(found),
            Err(e @ StoreError::Tampered { .. }) => Err(refused(e)),
            Err(e) => Err(e.into()),
        }
    }

    /// Rewrites every user record still in an unauthenticated schema as an
    /// authenticated one, then marks the database so that unauthenticated
    /// records are refused from then on. Returns how many were rewritten.
    /// Safe to run again, and beside logins (each rewrite is one CAS).
    pub fn upgrade_records(&self, now: UnixTime) -> Result<usize, Error> {
        let mut rewritten = 0;
        for key in self.store.keys(USER_KEY_PREFIX)? {
            let Some(user) = key.strip_prefix(USER_KEY_PREFIX) else {
                continue;
            };
            while let Some(current) = self.store.get(&key)? {
                let (rec, provenance) = self.read(user, &key, &current.value, now)?;
                if provenance == Provenance::Authenticated {
                    break;
                }
                match self.store.compare_and_swap(
                    &key,
                    Some(current.version),
                    Some(&rec.seal(self.key, &key)),
                )? {
                    Cas::Swapped(_) => {
                        rewritten += 1;
                        break;
                    }
                    Cas::Conflict => continue,
                }
            }
        }
        if self.store.get(UPGRADED_KEY)?.is_none() {
            let _ =
                self.store
                    .compare_and_swap(UPGRADED_KEY, None, Some(&upgraded_mark(self.key)))?;
        }
        Ok(rewritten)
    }

    /// Read → change a copy → compare-and-swap, retried on conflict. `change`
    /// may run several times and must only touch the record and the [`Tx`].
    /// Nothing is written when it fails or leaves the record unchanged.
    pub(crate) fn update<T>(
        &self,
        user: &str,
        ctx: Option<&Context>,
        now: UnixTime,
        mut change: impl FnMut(&mut Tx<'_>) -> Result<T, Error>,
    ) -> Result<T, Error> {
        validate_user_name(user)?;
        let key = user_key(user);
        for _ in 0..MAX_CAS_ATTEMPTS {
            let current = self.get_record(user, &key, now)?;
            let before = match &current {
                Some(v) => self.read(user, &key, &v.value, now)?.0,
                None => UserRecord::default(),
            };
            let mut rec = before.clone();
            let mut tx = Tx {
                rec: &mut rec,
                now,
                user,
                ctx,
                origin: self.origin,
                events: Vec::new(),
                notices: Vec::new(),
            };
            let value = change(&mut tx)?;
            let (events, notices) = (tx.events, tx.notices);
            let first_event = rec.audit_next;
            rec.audit_next += events.len() as u64;
            if rec == before {
                return Ok(value);
            }
            let expected = current.as_ref().map(|v| v.version);
            let sealed = rec.seal(self.key, &key);
            if self.swap_recording(user, &key, expected, &sealed, first_event, &events)? {
                self.after_commit(user, now, events, notices);
                return Ok(value);
            }
        }
        Err(crate::store::StoreError::Contention.into())
    }

    /// Audit sink and notices, once the change that caused them is stored.
    fn after_commit(
        &self,
        user: &str,
        now: UnixTime,
        events: Vec<AuditEvent>,
        notices: Vec<NoticeKind>,
    ) {
        if let Some(sink) = self.sink {
            for e in &events {
                sink.record(e);
            }
        }
        for kind in notices {
            let notice = Notice {
                user: user.to_owned(),
                kind,
                at: now,
            };
            if let Err(e) = self.delivery.send_notice(&notice) {
                // The failure is itself audited; a second failure there is not retried.
                let _ = self.notice_not_delivered(user, e.reason(), now);
            }
        }
    }

    /// A fresh set of the policy's number of recovery codes for `user`,
    /// peppered for that user.
    pub(crate) fn new_recovery_codes(
        &self,
        user: &str,
        now: UnixTime,
        rng: &mut dyn crate::random::Random,
    ) -> Result<crate::recovery::NewRecoveryCodes, crate::random::RandomError> {
        crate::recovery::RecoverySet::generate(
            rng,
            self.policy.recovery.codes as usize,
            now,
            &self.key.pepper(crate::seal::PepperFor::Recovery, user),
        )
    }

    /// Records that a notice to `user` could not be delivered.
    pub fn notice_not_delivered(
        &self,
        user: &str,
        reason: &str,
        now: UnixTime,
    ) -> Result<(), Error> {
        self.update(user, None, now, |tx| {
            tx.audit(AuditKind::NoticeFailed {
                reason: reason.to_owned(),
            });
            Ok(())
        })
    }
}
