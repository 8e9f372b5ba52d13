//! Enrolling an authenticator app, and recovery codes.

use super::verify::{check_totp, totp_context, TotpCheck};
use super::{Engine, Tx};
use crate::audit::{AuditKind, Factor};
use crate::delivery::NoticeKind;
use crate::error::Error;
use crate::hotp::{time_step, Algorithm};
use crate::input::{CodeInput, InputError};
use crate::otpauth::{secret_base32, KeyUri};
use crate::qr::{Qr, QrTooLong};
use crate::random::Random;
use crate::record::TotpFactor;
use crate::recovery::RecoverySet;
use crate::seal::PepperFor;
use crate::secret::{SecretBytes, SecretString};
use crate::time::UnixTime;
use std::time::Duration;

/// How long a begun TOTP enrollment waits for its confirmation code.
const PENDING_TOTP_LIFETIME: Duration = Duration::from_secs(3600);

/// TOTP parameters of one factor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TotpParams {
    /// HMAC algorithm.
    pub algorithm: Algorithm,
    /// 6 or 8.
    pub digits: u32,
    /// Seconds per step (30 or 60).
    pub period: u64,
}

/// What to show a person enrolling an authenticator app. All of it reveals the
/// secret: show it to that person only, once.
#[derive(Debug)]
pub struct TotpEnrollment {
    /// The secret in base32, for manual entry.
    pub secret_base32: SecretString,
    /// The `otpauth://` URI the QR code encodes.
    pub uri: SecretString,
    /// The parameters the app must use.
    pub params: TotpParams,
}

impl TotpEnrollment {
    /// The QR code of [`Self::uri`].
    pub fn qr(&self) -> Result<Qr, QrTooLong> {
        Qr::new(self.uri.expose())
    }
}

/// A factor that became active, with recovery codes to show once (empty when the
/// user already held unused codes).
#[derive(Debug)]
pub struct EnrolledTotp {
    /// Fresh recovery codes, if a new set was made.
    pub recovery_codes: Vec<SecretString>,
}

impl Engine<'_> {
    /// TOTP parameters for new enrollments under the current policy.
    pub fn totp_params(&self) -> TotpParams {
        TotpParams {
            algorithm: self.policy.totp.algorithm,
            digits: self.policy.totp.digits,
            period: self.policy.totp.period.as_secs(),
        }
    }

    /// Starts enrolling an authenticator app: a new secret, pending until
    /// [`Self::confirm_totp`] sees a code from it. An active app stays active
    /// until then.
    pub fn begin_totp(
        &self,
        user: &str,
        now: UnixTime,
        rng: &mut dyn Random,
    ) -> Result<TotpEnrollment, Error> {
        let params = self.totp_params();
        // RFC 6238 §5.1: a key as long as the hash output (≥ 160 bits).
        let len = match params.algorithm {
            Algorithm::Sha1 => 20,
            Algorithm::Sha256 => 32,
            Algorithm::Sha512 => 64,
        };
        let mut raw = vec![0u8; len];
        rng.fill(&mut raw)?;
        let secret = SecretBytes::new(raw);
        let sealed = self.key.seal(rng, &totp_context(user), secret.expose())?;
        self.update(user, None, now, |tx| {
            tx.rec.pending_totp = Some(TotpFactor {
                secret: sealed.clone(),
                algorithm: params.algorithm,
                digits: params.digits,
                period: params.period,
                last_step: None,
                since: now,
                last_used: None,
            });
            tx.audit(AuditKind::EnrollmentStarted {
                factor: Factor::Totp,
            });
            Ok(())
        })?;
        Ok(self.enrollment_view(user, secret.expose(), params))
    }

    fn enrollment_view(&self, user: &str, secret: &[u8], params: TotpParams) -> TotpEnrollment {
        TotpEnrollment {
            secret_base32: secret_base32(secret),
            uri: KeyUri {
                issuer: &self.policy.totp.issuer,
                account: user,
                algorithm: params.algorithm,
                digits: params.digits,
                period: params.period,
            }
            .render(secret),
            params,
        }
    }

    /// Activates the pending authenticator app if `code` comes from it.
    pub fn confirm_totp(
        &self,
        user: &str,
        code: &[u8],
        now: UnixTime,
        rng: &mut dyn Random,
    ) -> Result<EnrolledTotp, Error> {
        let code = match CodeInput::parse(code)? {
            CodeInput::Digits(d) => d,
            _ => return Err(InputError::Malformed.into()),
        };
        let fresh = self.new_recovery_codes(user, now, rng)?;
        let skew = self.policy.totp.skew;
        self.update(user, None, now, |tx| {
            let mut pending = tx
                .rec
                .pending_totp
                .clone()
                .filter(|p| now.since(p.since) <= PENDING_TOTP_LIFETIME)
                .ok_or(Error::NoPendingEnrollment(Factor::Totp))?;
            if pending.digits as usize != code.expose().len() {
                return Err(InputError::WrongLength {
                    got: code.expose().len(),
                }
                .into());
            }
            match check_totp(self.key, user, &pending, code.expose(), skew, now)? {
                TotpCheck::Fresh(step) => pending.last_step = Some(step),
                TotpCheck::Replay | TotpCheck::ClockBehind(_) | TotpCheck::Wrong => {
                    return Err(Error::WrongCode)
                }
            }
            tx.rec.pending_totp = None;
            self.activate_totp(tx, pending);
            // The code from the new app is a second factor that passed.
            tx.rec.passed_mfa(tx.origin, now);
            Ok(self.ensure_recovery(tx, &fresh.set, &fresh.display))
        })
        .map(|recovery_codes| EnrolledTotp { recovery_codes })
    }

    /// Activates an authenticator app with a known secret, without a
    /// confirmation code: for admin provisioning. The first code from it is
    /// accepted, even one of the current time step.
    pub fn provision_totp(
        &self,
        user: &str,
        secret: &SecretBytes,
        params: TotpParams,
        now: UnixTime,
        rng: &mut dyn Random,
    ) -> Result<EnrolledTotp, Error> {
        self.install_totp(user, secret, params, None, now, rng)
    }

    /// Activates an authenticator app taken over from another tool, whose
    /// codes that tool may have accepted moments ago: the current time step
    /// counts as used, so such a code cannot be replayed here; the app's next
    /// code works.
    pub fn import_totp(
        &self,
        user: &str,
        secret: &SecretBytes,
        params: TotpParams,
        now: UnixTime,
        rng: &mut dyn Random,
    ) -> Result<EnrolledTotp, Error> {
        let used = time_step(now.0, params.period);
        self.install_totp(user, secret, params, Some(used), now, rng)
    }

    fn install_totp(
        &self,
        user: &str,
        secret: &SecretBytes,
        params: TotpParams,
        last_step: Option<u64>,
        now: UnixTime,
        rng: &mut dyn Random,
    ) -> Result<EnrolledTotp, Error> {
        let sealed = self.key.seal(rng, &totp_context(user), secret.expose())?;
        let fresh = self.new_recovery_codes(user, now, rng)?;
        self.update(user, None, now, |tx| {
            let factor = TotpFactor {
                secret: sealed.clone(),
                algorithm: params.algorithm,
                digits: params.digits,
                period: params.period,
                last_step,
                since: now,
                last_used: None,
            };
            self.activate_totp(tx, factor);
            Ok(self.ensure_recovery(tx, &fresh.set, &fresh.display))
        })
        .map(|recovery_codes| EnrolledTotp { recovery_codes })
    }

    fn activate_totp(&self, tx: &mut Tx<'_>, factor: TotpFactor) {
        if tx.rec.totp.is_some() {
            tx.audit(AuditKind::FactorRemoved {
                factor: Factor::Totp,
            });
            tx.notify(NoticeKind::FactorRemoved(Factor::Totp));
        }
        tx.rec.totp = Some(factor);
        tx.rec.enroll_by = None;
        // A change of factors ends the user's other sessions.
        tx.rec.end_sessions(tx.now);
        tx.audit(AuditKind::Enrolled {
            factor: Factor::Totp,
        });
        tx.notify(NoticeKind::FactorAdded(Factor::Totp));
    }

    /// Installs `set` unless the user still holds unused codes; returns the codes
    /// to show (empty when the old set stays).
    pub(crate) fn ensure_recovery(
        &self,
        tx: &mut Tx<'_>,
        set: &RecoverySet,
        display: &[SecretString],
    ) -> Vec<SecretString> {
        if tx.rec.recovery.as_ref().is_some_and(|r| r.remaining() > 0) {
            return Vec::new();
        }
        tx.rec.recovery = Some(set.clone());
        tx.audit(AuditKind::RecoveryCodesRegenerated {
            count: display.len() as u32,
        });
        display.to_vec()
    }

    /// Replaces the user's recovery codes with codes another tool issued (e.g.
    /// google-authenticator scratch codes); returns how many were taken. Only
    /// for users with an active factor.
    pub fn import_recovery_codes(
        &self,
        user: &str,
        codes: &[SecretString],
        now: UnixTime,
        rng: &mut dyn Random,
    ) -> Result<usize, Error> {
        let set = RecoverySet::import(rng, codes, now, &self.key.pepper(PepperFor::Recovery, user))
            .map_err(|_| Error::Input(InputError::Malformed))?;
        self.update(user, None, now, |tx| {
            if !tx.rec.enrolled() {
                return Err(Error::NotEnrolled);
            }
            tx.rec.recovery = Some(set.clone());
            tx.rec.end_sessions(now);
            tx.audit(AuditKind::RecoveryCodesRegenerated {
                count: codes.len() as u32,
            });
            Ok(codes.len())
        })
    }

    /// Replaces the user's recovery codes with a fresh set; the old codes stop
    /// working at once. Only for users with an active factor.
    pub fn regenerate_recovery(
        &self,
        user: &str,
        now: UnixTime,
        rng: &mut dyn Random,
    ) -> Result<Vec<SecretString>, Error> {
        let fresh = self.new_recovery_codes(user, now, rng)?;
        self.update(user, None, now, |tx| {
            if !tx.rec.enrolled() {
                return Err(Error::NotEnrolled);
            }
            tx.rec.recovery = Some(fresh.set.clone());
            tx.rec.end_sessions(now);
            tx.audit(AuditKind::RecoveryCodesRegenerated {
                count: fresh.display.len() as u32,
            });
            Ok(())
        })?;
        Ok(fresh.display)
    }
}
