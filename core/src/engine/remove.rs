//! A user removing one of their own factors (the Security page's "Remove").

use super::Engine;
use crate::audit::{AuditKind, Factor};
use crate::decision::Subject;
use crate::delivery::NoticeKind;
use crate::error::Error;
use crate::input::InputError;
use crate::policy::Mode;
use crate::record::UserRecord;
use crate::time::UnixTime;

impl Engine<'_> {
    /// Whether the policy requires a second factor of `subject` (break-glass
    /// exemptions and users out of scope do not need one).
    pub fn requires_mfa(&self, subject: &Subject) -> bool {
        if self.policy.is_exempt(&subject.user) {
            return false;
        }
        match self.policy.enforcement.mode {
            Mode::Optional => false,
            Mode::RequiredForAdmins => self.policy.is_admin(&subject.groups),
            Mode::RequiredForAll => true,
        }
    }

    /// Removes `factor` (the app or the SMS number) from `subject`'s account:
    /// audited, and the user told. Refused with [`Error::LastFactorRequired`]
    /// when it is the last usable factor and the policy requires one, so
    /// that removing it can never turn into a sign-in without MFA. Removing
    /// the last factor where none is required also drops the recovery codes
    /// (they belong to the enrollment).
    pub fn remove_factor(
        &self,
        subject: &Subject,
        factor: Factor,
        now: UnixTime,
    ) -> Result<(), Error> {
        // Recovery codes go with the last factor; a passkey is removed by
        // its name (`remove_passkey`).
        if matches!(factor, Factor::Recovery | Factor::Passkey) {
            return Err(Error::Input(InputError::Malformed));
        }
        let required = self.requires_mfa(subject);
        self.update(&subject.user, None, now, |tx| {
            let has = match factor {
                Factor::Totp => tx.rec.totp.is_some(),
                _ => tx.rec.sms.is_some(),
            };
            if !has {
                return Err(Error::NotEnrolled);
            }
            if required && !self.other_factor_left(tx.rec, factor, None) {
                return Err(Error::LastFactorRequired);
            }
            match factor {
                Factor::Totp => tx.rec.totp = None,
                _ => {
                    tx.rec.sms = None;
                    tx.rec.sms_challenge = None;
                }
            }
            if !tx.rec.enrolled() {
                tx.rec.recovery = None;
                tx.rec.last_mfa = None;
            }
            tx.rec.end_sessions(now);
            tx.audit(AuditKind::FactorRemoved { factor });
            tx.notify(NoticeKind::FactorRemoved(factor));
            Ok(())
        })
    }

    /// Whether `rec` keeps a factor the policy lets the user sign in with
    /// once `factor` (and, for a passkey, the one named `passkey`) is gone.
    pub(crate) fn other_factor_left(
        &self,
        rec: &UserRecord,
        factor: Factor,
        passkey: Option<&str>,
    ) -> bool {
        let totp = factor != Factor::Totp && rec.totp.is_some();
        let sms = factor != Factor::Sms && rec.sms.is_some() && self.policy.sms.enabled;
        let passkeys = self.policy.passkeys.enabled
            && rec
                .passkeys
                .iter()
                .any(|p| p.cloned_at.is_none() && Some(p.name.as_str()) != passkey);
        totp || sms || passkeys
    }
}
