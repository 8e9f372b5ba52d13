//! Checking a code typed at the prompt.

use super::{Engine, Tx};
use crate::audit::{AuditKind, Factor};
use crate::decision::Context;
use crate::delivery::NoticeKind;
use crate::error::Error;
use crate::hotp::{time_step, HotpKey};
use crate::input::{CodeInput, InputError};
use crate::random::Random;
use crate::record::TotpFactor;
use crate::recovery::Spend;
use crate::seal::{PepperFor, SealKey};
use crate::sms::SmsCheck;
use crate::time::UnixTime;
use subtle::ConstantTimeEq;

/// The result of checking a code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verification {
    /// The code was right.
    Accepted {
        /// Which factor it was.
        factor: Factor,
        /// Unused recovery codes left.
        recovery_remaining: u32,
    },
    /// The user typed `sms`: a code went to this (masked) number.
    SmsSent {
        /// The number as shown, e.g. `+44••••••••23`.
        to: String,
    },
    /// The code was wrong.
    Rejected {
        /// Failures left before a lock.
        failures_left: u32,
    },
    /// The TOTP code was right but already used.
    Replayed {
        /// Failures left before a lock.
        failures_left: u32,
    },
    /// A recovery code of the user's set that was used before (each works
    /// once). Counted as a failure, like a replayed code.
    RecoveryCodeSpent {
        /// Failures left before a lock.
        failures_left: u32,
    },
    /// Locked after too many failures (now or earlier).
    Locked {
        /// Until when.
        until: UnixTime,
    },
    /// The code matched only steps at or before one already accepted that
    /// lies ahead of this clock: the clock went back (or was ahead then). Not
    /// counted as a failure; audited at warning level.
    ClockBehind {
        /// When the time step of the last accepted code began.
        last_accepted: UnixTime,
    },
}

/// Why a typed code failed (each counts toward the lockout).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Failure {
    /// Matched nothing.
    Wrong,
    /// A TOTP code of a step already used.
    Replayed,
    /// A recovery code of the set, used before.
    SpentRecoveryCode,
}

/// How a typed code compared with a TOTP factor.
pub(crate) enum TotpCheck {
    /// Matched this time step, newer than any used before.
    Fresh(u64),
    /// Matched a step already used.
    Replay,
    /// Matched only used steps, and the last used one lies beyond the skew
    /// window ahead of now: this clock is behind the one that accepted it.
    ClockBehind(u64),
    /// Matched nothing.
    Wrong,
}

/// Compares `code` with every step within `skew` of now, all in constant time.
pub(crate) fn check_totp(
    key: &SealKey,
    user: &str,
    factor: &TotpFactor,
    code: &str,
    skew: u32,
    now: UnixTime,
) -> Result<TotpCheck, Error> {
    let secret = key.open(&totp_context(user), &factor.secret)?;
    let hmac = HotpKey::new(factor.algorithm, secret.expose());
    let current = time_step(now.0, factor.period);
    let mut fresh = None;
    let mut replay = false;
    for step in current.saturating_sub(u64::from(skew))..=current.saturating_add(u64::from(skew)) {
        let expected = hmac.code(step, factor.digits);
        let matched: bool = expected.as_bytes().ct_eq(code.as_bytes()).into();
        if matched {
            if factor.last_step.is_some_and(|last| step <= last) {
                replay = true;
            } else if fresh.is_none() {
                fresh = Some(step);
            }
        }
    }
    Ok(match (fresh, replay, factor.last_step) {
        (Some(step), _, _) => TotpCheck::Fresh(step),
        (None, true, Some(last)) if last > current.saturating_add(u64::from(skew)) => {
            TotpCheck::ClockBehind(last)
        }
        (None, true, _) => TotpCheck::Replay,
        (None, false, _) => TotpCheck::Wrong,
    })
}

/// Associated data binding a sealed TOTP secret to its user.
pub(crate) fn totp_context(user: &str) -> String {
    format!("planasonix/v1/user/{user}/totp")
}

impl Engine<'_> {
    /// Checks what the user typed at the code prompt: a TOTP code, an SMS code,
    /// a recovery code, or `sms` to have a code sent.
    ///
    /// Wrong and replayed codes count towards the lockout; input that cannot be
    /// a code at all is an [`Error::Input`] and does not.
    pub fn verify(
        &self,
        user: &str,
        input: &[u8],
        ctx: &Context,
        now: UnixTime,
        rng: &mut dyn Random,
    ) -> Result<Verification, Error> {
        let parsed = CodeInput::parse(input)?;
        if parsed == CodeInput::SmsRequest {
            return self
                .send_login_sms(user, ctx, now, rng)
                .map(|to| Verification::SmsSent { to });
        }
        let skew = self.policy.totp.skew;
        let sms_len = self.policy.sms.code_length as usize;
        self.update(user, Some(ctx), now, |tx| {
            if let Some(until) = tx.rec.locked_until_from(ctx.remote.as_deref(), now) {
                return Ok(Verification::Locked { until });
            }
            if !tx.rec.enrolled() && tx.rec.recovery.is_none() {
                return Err(Error::NotEnrolled);
            }
            match &parsed {
                CodeInput::Digits(code) => {
                    let code = code.expose();
                    let totp_fits = tx
                        .rec
                        .totp
                        .as_ref()
                        .is_some_and(|t| t.digits as usize == code.len());
                    let sms_fits = code.len() == sms_len
                        && tx.rec.sms_challenge.as_ref().is_some_and(|c| c.live(now));
                    let scratch_fits =
                        tx.rec.recovery.as_ref().and_then(|r| r.numeric_len()) == Some(code.len());
                    if !totp_fits && !sms_fits && !scratch_fits {
                        return Err(InputError::WrongLength { got: code.len() }.into());
                    }
                    let mut replayed = false;
                    let mut clock_behind = None;
                    if totp_fits {
                        if let Some(factor) = tx.rec.totp.as_mut() {
                            match check_totp(self.key, user, factor, code, skew, now)? {
                                TotpCheck::Fresh(step) => {
                                    factor.last_step = Some(step);
                                    factor.last_used = Some(now);
                                    return Ok(self.succeed(tx, Factor::Totp));
                                }
                                TotpCheck::Replay => replayed = true,
                                TotpCheck::ClockBehind(last) => {
                                    clock_behind =
                                        Some(UnixTime(last.saturating_mul(factor.period)))
                                }
                                TotpCheck::Wrong => {}
                            }
                        }
                    }
                    if sms_fits {
                        if let Some(challenge) = tx.rec.sms_challenge.as_mut() {
                            match challenge.check(code, now, &self.key.pepper(PepperFor::Sms, user))
                            {
                                SmsCheck::Accepted => {
                                    tx.rec.sms_challenge = None;
                                    if let Some(sms) = tx.rec.sms.as_mut() {
                                        sms.last_used = Some(now);
                                    }
                                    return Ok(self.succeed(tx, Factor::Sms));
                                }
                                SmsCheck::Wrong if challenge.attempts_left == 0 => {
                                    tx.rec.sms_challenge = None
                                }
                                SmsCheck::Wrong => {}
                                SmsCheck::Expired => tx.rec.sms_challenge = None,
                            }
                        }
                    }
                    let mut failure = if replayed {
                        Failure::Replayed
                    } else {
                        Failure::Wrong
                    };
                    if scratch_fits {
                        match self.spend_recovery(tx, code) {
                            Ok(accepted) => return Ok(accepted),
                            Err(Failure::SpentRecoveryCode) if !replayed => {
                                failure = Failure::SpentRecoveryCode
                            }
                            Err(_) => {}
                        }
                    }
                    if let Some(last_accepted) = clock_behind {
                        // The person typed the right code; the clock is wrong.
                        tx.audit(AuditKind::ClockBehind { last_accepted });
                        return Ok(Verification::ClockBehind { last_accepted });
                    }
                    Ok(self.fail(tx, failure))
                }
                CodeInput::Recovery(code) => match self.spend_recovery(tx, code.expose()) {
                    Ok(accepted) => Ok(accepted),
                    Err(failure) => Ok(self.fail(tx, failure)),
                },
                CodeInput::SmsRequest => Err(InputError::Malformed.into()),
            }
        })
    }

    /// Spends a recovery code (canonical form) if it is in the user's set
    /// and unused; else says how the code failed.
    fn spend_recovery(&self, tx: &mut Tx<'_>, canonical: &str) -> Result<Verification, Failure> {
        let now = tx.now;
        let pepper = self.key.pepper(PepperFor::Recovery, tx.user);
        let spent = tx
            .rec
            .recovery
            .as_mut()
            .map_or(Spend::NotInSet, |set| set.spend(canonical, now, &pepper));
        match spent {
            Spend::Spent => {}
            Spend::AlreadyUsed => return Err(Failure::SpentRecoveryCode),
            Spend::NotInSet => return Err(Failure::Wrong),
        }
        let remaining = recovery_remaining(tx);
        tx.audit(AuditKind::RecoveryCodeUsed { remaining });
        tx.notify(NoticeKind::RecoveryCodeUsed { remaining });
        Ok(self.succeed(tx, Factor::Recovery))
    }

    pub(super) fn succeed(&self, tx: &mut Tx<'_>, factor: Factor) -> Verification {
        self.passed(tx, factor == Factor::Passkey);
        tx.audit(AuditKind::Verified { factor });
        Verification::Accepted {
            factor,
            recovery_remaining: recovery_remaining(tx),
        }
    }

    /// What every passed second factor leaves in the record: this remote's
    /// failures cleared, the MFA marked for `[remember]` and step-up, and
    /// whether it was phishing-resistant.
    pub(super) fn passed(&self, tx: &mut Tx<'_>, phishing_resistant: bool) {
        let (service, remote) = tx
            .ctx
            .map(|c| (c.service.clone(), c.remote.clone()))
            .unwrap_or_default();
        // The user-wide count is left to age out of the window: a right code
        // here says nothing about guesses from elsewhere, and clearing it
        // would hand a guesser a fresh allowance at every real login.
        tx.rec.lockout.clear_remote(remote.as_deref());
        tx.rec
            .mark_mfa(&service, remote.as_deref(), tx.origin, tx.now);
        tx.rec.last_mfa_phishing_resistant = phishing_resistant;
    }

    /// Counts a failure against the remote and the user; locks the remote
    /// out, or the user everywhere, when the window holds too many.
    pub(super) fn fail(&self, tx: &mut Tx<'_>, failure: Failure) -> Verification {
        let lockout = &self.policy.lockout;
        let now = tx.now;
        let ctx = tx.ctx;
        let remote = ctx.and_then(|c| c.remote.as_deref());
        let count = tx.rec.lockout.count_failure(remote, now, lockout.window);
        match failure {
            Failure::Replayed => tx.audit(AuditKind::Replay),
            Failure::SpentRecoveryCode => tx.audit(AuditKind::RecoveryCodeReused),
            Failure::Wrong => {}
        }
        tx.audit(AuditKind::Failed {
            failures: count.all,
        });
        if count.all >= lockout.max_failures_all_remotes {
            let until = now.plus(lockout.duration);
            tx.rec.lockout.lock_user(until);
            tx.rec.sms_challenge = None;
            tx.rec.end_sessions(now);
            tx.audit(AuditKind::Locked { until });
            tx.notify(NoticeKind::Locked { until });
            return Verification::Locked { until };
        }
        if count.remote >= lockout.max_failures {
            // The user's SMS code and inbox are left alone: the real user may
            // be signing in from elsewhere.
            let until = now.plus(lockout.duration);
            tx.rec.lockout.lock_remote(remote, until);
            tx.rec.end_sessions(now);
            tx.audit(AuditKind::RemoteLocked { until });
            return Verification::Locked { until };
        }
        let failures_left =
            (lockout.max_failures - count.remote).min(lockout.max_failures_all_remotes - count.all);
        match failure {
            Failure::Replayed => Verification::Replayed { failures_left },
            Failure::SpentRecoveryCode => Verification::RecoveryCodeSpent { failures_left },
            Failure::Wrong => Verification::Rejected { failures_left },
        }
    }
}

fn recovery_remaining(tx: &Tx<'_>) -> u32 {
    tx.rec.recovery.as_ref().map_or(0, |r| r.remaining() as u32)
}
