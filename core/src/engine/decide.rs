//! Deciding what a login or action requires.

use super::Engine;
use crate::audit::Factor;
use crate::audit::{AuditEvent, AuditKind};
use crate::decision::{Context, Decision, Denied, NotRequired, Subject};
use crate::error::Error;
use crate::input::validate_user_name;
use crate::policy::{Mode, Require, StepUp, StepUpScope};
use crate::record::UserRecord;
use crate::time::UnixTime;

impl Engine<'_> {
    /// What `subject` must do to pass `ctx` at `now`.
    ///
    /// May write: it starts a user's grace period the first time a policy that
    /// requires MFA sees them, and audits exemptions, grace logins and overdue
    /// enrollments.
    pub fn decide(
        &self,
        subject: &Subject,
        ctx: &Context,
        now: UnixTime,
    ) -> Result<Decision, Error> {
        let user = subject.user.as_str();
        let step_up = match &ctx.action {
            Some(action) => match self.policy.step_up.get(action) {
                Some(rule) => Some((action.clone(), *rule)),
                None => return Err(Error::UnknownAction(action.clone())),
            },
            None => None,
        };
        if self.policy.is_exempt(user) {
            // Break-glass must work when the store does not: the answer never
            // depends on this write, and the event reaches the sink either way.
            let audited = self.update(user, Some(ctx), now, |tx| {
                tx.audit(AuditKind::ExemptionUsed);
                Ok(())
            });
            if let (Err(e), Some(sink)) = (audited, self.sink) {
                validate_user_name(user)?;
                sink.record(&AuditEvent {
                    at: now,
                    user: user.to_owned(),
                    service: Some(ctx.service.clone()).filter(|s| !s.is_empty()),
                    remote: ctx.remote.clone(),
                    host: self.origin_host(),
                    kind: AuditKind::ExemptionUsed,
                });
                sink.trail_failed(user, &e.to_string());
            }
            return Ok(Decision::NotRequired(NotRequired::Exempt));
        }
        let rec = self.load(user, now)?;
        if let Some(until) = rec.locked_until_from(ctx.remote.as_deref(), now) {
            return Ok(Decision::Denied(Denied::LockedOut { until }));
        }
        if rec.enrolled() {
            return Ok(self.decide_enrolled(subject, ctx, &rec, step_up, now));
        }
        let in_scope = match self.policy.enforcement.mode {
            Mode::Optional => false,
            Mode::RequiredForAdmins => self.policy.is_admin(&subject.groups),
            Mode::RequiredForAll => true,
        };
        if !in_scope {
            return Ok(Decision::NotRequired(NotRequired::OutOfScope));
        }
        if step_up.is_none() && self.upstream_mfa(subject) {
            return Ok(Decision::NotRequired(NotRequired::UpstreamMfa));
        }
        let grace = self.policy.enforcement.grace_period;
        let deadline = self.update(user, Some(ctx), now, |tx| {
            let deadline = match (tx.rec.enroll_by, tx.rec.first_seen) {
                (Some(by), _) => by,
                (None, Some(seen)) => seen.plus(grace),
                (None, None) => {
                    tx.rec.first_seen = Some(now);
                    now.plus(grace)
                }
            };
            if now < deadline {
                tx.audit(AuditKind::GraceLogin { deadline });
            } else {
                tx.audit(AuditKind::EnrollmentOverdue);
            }
            Ok(deadline)
        })?;
        if now < deadline {
            Ok(Decision::Grace {
                deadline,
                may_enroll_now: self.policy.enforcement.enroll_at_login,
            })
        } else {
            Ok(Decision::Denied(Denied::EnrollmentOverdue { deadline }))
        }
    }

    fn decide_enrolled(
        &self,
        subject: &Subject,
        ctx: &Context,
        rec: &UserRecord,
        step_up: Option<(String, StepUp)>,
        now: UnixTime,
    ) -> Decision {
        let mut factors = rec.factors(self.policy.sms.enabled, self.policy.passkeys.enabled);
        if factors.is_empty() {
            return Decision::Denied(Denied::NoUsableFactor);
        }
        if let Some((action, rule)) = step_up {
            if rule.require == Require::PhishingResistant {
                factors.retain(|f| *f == Factor::Passkey);
                if factors.is_empty() {
                    return Decision::Denied(Denied::NoPhishingResistantFactor);
                }
            }
            return match self
                .step_up_counts(rec, ctx, rule.require)
                .filter(|at| recent(*at, now, rule.max_age))
            {
                Some(at) => Decision::NotRequired(NotRequired::RecentMfa { at }),
                None => Decision::Required {
                    factors,
                    step_up: Some(action),
                },
            };
        }
        if self.upstream_mfa(subject) {
            return Decision::NotRequired(NotRequired::UpstreamMfa);
        }
        let window = self.policy.remember.window;
        if !window.is_zero() {
            if let Some(at) = rec.mark_for(&ctx.service, ctx.remote.as_deref()) {
                if recent(at, now, window) && now.since(at) < window {
                    return Decision::NotRequired(NotRequired::Remembered { at });
                }
            }
        }
        Decision::Required {
            factors,
            step_up: None,
        }
    }

    /// The passed second factor a step-up may count, by `step_up_scope`:
    /// the caller's own session's where it keeps sessions, this host's where
    /// it does not, or the user's latest anywhere (`fleet`). Nothing from
    /// before the sessions were ended (a reset, a lock, a factor change),
    /// unless the caller's session is at the record's current count: then
    /// nothing ended it, and the last change was its own. Where `require`
    /// says phishing-resistant, only a passkey's counts.
    fn step_up_counts(
        &self,
        rec: &UserRecord,
        ctx: &Context,
        require: Require,
    ) -> Option<UnixTime> {
        let strong_enough =
            |phishing_resistant: bool| require == Require::Any || phishing_resistant;
        let at = match (self.policy.enforcement.step_up_scope, &ctx.session) {
            (StepUpScope::Fleet, _) => rec
                .last_mfa
                .filter(|_| strong_enough(rec.last_mfa_phishing_resistant)),
            (StepUpScope::Session, Some(session)) if !strong_enough(session.phishing_resistant) => {
                return None;
            }
            (StepUpScope::Session, Some(session)) if session.epoch == Some(rec.sessions_epoch) => {
                return session.mfa_at;
            }
            (StepUpScope::Session, Some(session)) => session.mfa_at,
            (StepUpScope::Session, None) => rec.last_mfa.filter(|_| {
                rec.last_mfa_origin.as_deref() == self.origin
                    && strong_enough(rec.last_mfa_phishing_resistant)
            }),
        };
        at.filter(|at| rec.sessions_valid_after.is_none_or(|after| *at >= after))
    }

    fn upstream_mfa(&self, subject: &Subject) -> bool {
        subject
            .amr
            .iter()
            .any(|a| self.policy.enforcement.trusted_amr.iter().any(|t| t == a))
    }
}

/// Whether `at` lies within `max_age` before `now`. A time after `now` (a
/// clock that was ahead when it was stored, or a forged record) is never
/// recent: `UnixTime::since` saturates to zero, which would read as "just now".
fn recent(at: UnixTime, now: UnixTime, max_age: std::time::Duration) -> bool {
    at <= now && now.since(at) <= max_age
}
