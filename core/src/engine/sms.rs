//! SMS: enrolling a number and sending login codes.

use super::{Engine, Tx};
use crate::audit::{AuditKind, Factor};
use crate::decision::Context;
use crate::delivery::{NoticeKind, SmsPurpose};
use crate::error::Error;
use crate::input::{CodeInput, InputError};
use crate::phone::PhoneNumber;
use crate::random::Random;
use crate::record::SmsFactor;
use crate::seal::{PepperFor, Sealed};
use crate::secret::SecretString;
use crate::sms::{SmsChallenge, SmsCheck};
use crate::time::{format_duration, UnixTime};
use std::time::Duration;

const HOUR: Duration = Duration::from_secs(3600);

fn phone_context(user: &str) -> String {
    format!("planasonix/v1/user/{user}/phone")
}

impl Engine<'_> {
    /// The next time a send is allowed, if the rate limits refuse one now.
    fn sms_refused_until(&self, tx: &mut Tx<'_>) -> Option<UnixTime> {
        let now = tx.now;
        let sms = &self.policy.sms;
        tx.rec
            .sms_sends
            .retain(|t| *t <= now && now.since(*t) < HOUR);
        let last = tx.rec.sms_sends.last().copied();
        let oldest = tx.rec.sms_sends.first().copied();
        if tx.rec.sms_sends.len() >= sms.max_sends_per_hour as usize {
            return oldest.map(|t| t.plus(HOUR));
        }
        last.map(|t| t.plus(sms.resend_interval))
            .filter(|t| *t > now)
    }

    /// The policy's text with the code; with an origin, the line phones read
    /// to offer the code only on that site (`@login.example.com #123456`).
    fn sms_text(&self, code: &SecretString) -> SecretString {
        let sms = &self.policy.sms;
        let mut text = sms
            .text
            .replace("{issuer}", &self.policy.totp.issuer)
            .replace("{expires}", &format_duration(sms.code_lifetime))
            .replace("{code}", code.expose());
        if !sms.origin.is_empty() {
            text.push_str(&format!("\n\n@{} #{}", sms.origin, code.expose()));
        }
        SecretString::new(text)
    }

    /// Sends `text`; on failure, records it and returns the error to show.
    fn deliver_sms(
        &self,
        user: &str,
        ctx: Option<&Context>,
        phone: &PhoneNumber,
        text: &SecretString,
        purpose: SmsPurpose,
        now: UnixTime,
    ) -> Result<(), Error> {
        match self.delivery.send_sms(phone, text.expose()) {
            // Queued to be sent after the store is closed: the caller says
            // how it went (`sms_delivered`, `sms_not_delivered`).
            Ok(()) if self.delivery.defers() => Ok(()),
            Ok(()) => self.sms_delivered(user, ctx, now),
            Err(e) => Err(self.sms_not_delivered(
                user,
                purpose,
                ctx,
                e.reason(),
                e.proves_unsent(),
                now,
            )?),
        }
    }

    /// Records that an SMS went out (`sms-sent` is audited only then).
    pub fn sms_delivered(
        &self,
        user: &str,
        ctx: Option<&Context>,
        now: UnixTime,
    ) -> Result<(), Error> {
        self.update(user, ctx, now, |tx| {
            tx.audit(AuditKind::SmsSent);
            Ok(())
        })
    }

    /// Records that an SMS queued by an earlier call (see [`crate::Deferred`])
    /// could not be sent: voids its code, audits the failure, and returns the
    /// error to show the user (which points to the app or a recovery code).
    /// When it provably did not go out (`unsent`: no connection, the gateway
    /// said it failed), its send is given back to the user's limits: an
    /// outage must not shut anyone out of SMS for an hour.
    pub fn sms_not_delivered(
        &self,
        user: &str,
        purpose: SmsPurpose,
        ctx: Option<&Context>,
        reason: &str,
        unsent: bool,
        now: UnixTime,
    ) -> Result<Error, Error> {
        self.update(user, ctx, now, |tx| {
            match purpose {
                SmsPurpose::Enrollment => tx.rec.pending_sms = None,
                SmsPurpose::Login => tx.rec.sms_challenge = None,
            }
            if unsent {
                tx.rec.sms_sends.pop();
            }
            tx.audit(AuditKind::SmsFailed {
                reason: reason.to_owned(),
            });
            Ok(())
        })?;
        Ok(Error::SmsDeliveryFailed(reason.to_owned()))
    }

    /// Starts enrolling `phone`: checks it against the policy and texts it a code.
    /// Returns the masked number. SMS is weaker than an app (SIM swap): callers
    /// should say so.
    pub fn begin_sms(
        &self,
        user: &str,
        phone: &str,
        now: UnixTime,
        rng: &mut dyn Random,
    ) -> Result<String, Error> {
        let sms = &self.policy.sms;
        if !sms.enabled {
            return Err(Error::SmsDisabled);
        }
        let number = PhoneNumber::parse_allowed(phone, &sms.allowed_prefixes)?;
        let sealed = self
            .key
            .seal(rng, &phone_context(user), number.e164().as_bytes())?;
        let (code, challenge) = SmsChallenge::issue(
            rng,
            sms.code_length,
            now.plus(sms.code_lifetime),
            sms.max_attempts,
            &self.key.pepper(PepperFor::Sms, user),
        )?;
        self.update(user, None, now, |tx| {
            if let Some(retry_after) = self.sms_refused_until(tx) {
                tx.audit(AuditKind::SmsRateLimited);
                return Ok(Err(Error::SmsRateLimited { retry_after }));
            }
            tx.rec.sms_sends.push(now);
            let factor = SmsFactor {
                phone: sealed.clone(),
                since: now,
                last_used: None,
            };
            tx.rec.pending_sms = Some((factor, challenge.clone()));
            tx.audit(AuditKind::EnrollmentStarted {
                factor: Factor::Sms,
            });
            Ok(Ok(()))
        })??;
        self.deliver_sms(
            user,
            None,
            &number,
            &self.sms_text(&code),
            SmsPurpose::Enrollment,
            now,
        )?;
        Ok(number.masked())
    }

    /// Activates the pending number if `code` is the one texted to it. Returns
    /// recovery codes to show if the user had none.
    pub fn confirm_sms(
        &self,
        user: &str,
        code: &[u8],
        now: UnixTime,
        rng: &mut dyn Random,
    ) -> Result<Vec<SecretString>, Error> {
        let code = match CodeInput::parse(code)? {
            CodeInput::Digits(d) => d,
            _ => return Err(InputError::Malformed.into()),
        };
        let fresh = self.new_recovery_codes(user, now, rng)?;
        self.update(user, None, now, |tx| {
            let Some((factor, mut challenge)) = tx.rec.pending_sms.clone() else {
                return Ok(Err(Error::NoPendingEnrollment(Factor::Sms)));
            };
            match challenge.check(code.expose(), now, &self.key.pepper(PepperFor::Sms, user)) {
                SmsCheck::Accepted => {}
                SmsCheck::Wrong if challenge.attempts_left > 0 => {
                    tx.rec.pending_sms = Some((factor, challenge));
                    return Ok(Err(Error::WrongCode));
                }
                SmsCheck::Wrong | SmsCheck::Expired => {
                    tx.rec.pending_sms = None;
                    return Ok(Err(Error::NoPendingEnrollment(Factor::Sms)));
                }
            }
            tx.rec.pending_sms = None;
            if tx.rec.sms.is_some() {
                tx.audit(AuditKind::FactorRemoved {
                    factor: Factor::Sms,
                });
                tx.notify(NoticeKind::FactorRemoved(Factor::Sms));
            }
            tx.rec.sms = Some(factor);
            tx.rec.enroll_by = None;
            // A change of factors ends the user's other sessions; the texted
            // code just typed is a second factor that passed.
            tx.rec.end_sessions(now);
            tx.rec.passed_mfa(tx.origin, now);
            tx.audit(AuditKind::Enrolled {
                factor: Factor::Sms,
            });
            tx.notify(NoticeKind::FactorAdded(Factor::Sms));
            Ok(Ok(self.ensure_recovery(tx, &fresh.set, &fresh.display)))
        })?
    }

    /// Texts a login code to the user's enrolled number; returns it masked.
    pub fn send_login_sms(
        &self,
        user: &str,
        ctx: &Context,
        now: UnixTime,
        rng: &mut dyn Random,
    ) -> Result<String, Error> {
        let sms = &self.policy.sms;
        if !sms.enabled {
            return Err(Error::SmsDisabled);
        }
        let (code, challenge) = SmsChallenge::issue(
            rng,
            sms.code_length,
            now.plus(sms.code_lifetime),
            sms.max_attempts,
            &self.key.pepper(PepperFor::Sms, user),
        )?;
        let sealed: Sealed = self.update(user, Some(ctx), now, |tx| {
            if let Some(until) = tx.rec.locked_until_from(ctx.remote.as_deref(), now) {
                return Ok(Err(Error::Locked { until }));
            }
            let Some(factor) = tx.rec.sms.clone() else {
                return Ok(Err(Error::SmsNotEnrolled));
            };
            if let Some(retry_after) = self.sms_refused_until(tx) {
                tx.audit(AuditKind::SmsRateLimited);
                return Ok(Err(Error::SmsRateLimited { retry_after }));
            }
            tx.rec.sms_sends.push(now);
            tx.rec.sms_challenge = Some(challenge.clone());
            Ok(Ok(factor.phone))
        })??;
        let raw = self.key.open(&phone_context(user), &sealed)?;
        let text = core::str::from_utf8(raw.expose()).map_err(|_| crate::seal::SealError::Open)?;
        let number = PhoneNumber::parse(text).map_err(|_| crate::seal::SealError::Open)?;
        self.deliver_sms(
            user,
            Some(ctx),
            &number,
            &self.sms_text(&code),
            SmsPurpose::Login,
            now,
        )?;
        Ok(number.masked())
    }

    /// The user's SMS number, masked, if one is enrolled.
    pub(crate) fn masked_phone(&self, user: &str, factor: &SmsFactor) -> Option<String> {
        let raw = self.key.open(&phone_context(user), &factor.phone).ok()?;
        let text = core::str::from_utf8(raw.expose()).ok()?;
        PhoneNumber::parse(text).ok().map(|n| n.masked())
    }
}
