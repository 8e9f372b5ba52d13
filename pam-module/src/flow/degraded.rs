//! Answers that must not depend on the seal key or the store.
//!
//! Break-glass has to work exactly when things are broken: a full disk, a
//! store that does not answer, a missing key. So an exempt user is let in on
//! the policy alone, with a warning in syslog whether or not the audit trail
//! could be written; and when the key or the store is unusable, a user the
//! policy does not require to use MFA is handed to the rest of the stack
//! (PAM_IGNORE) while everyone it does require is refused (fail closed).

use super::env::{Env, Site};
use super::messages::UNAVAILABLE;
use super::who::Who;
use crate::code::PamCode;
use crate::pam::Pam;
use planasonix_core::{Error, Mode, StoreError};
use planasonix_native::syslog::Severity;
use planasonix_native::Transactions;

/// Whether the policy alone, without any stored state, requires MFA of `who`.
/// (An enrolled user under `optional` is asked too, but that needs the store.)
fn policy_requires(site: &Site<'_>, who: &Who) -> bool {
    match site.policy.enforcement.mode {
        Mode::Optional => false,
        Mode::RequiredForAdmins => site.policy.is_admin(&who.subject.groups),
        Mode::RequiredForAll => true,
    }
}

/// Whether `who` is a break-glass account.
pub(crate) fn is_exempt(site: &Site<'_>, who: &Who) -> bool {
    site.policy.is_exempt(who.user())
}

/// A break-glass login: audited through the engine when the store takes it
/// (the engine logs it at warning level), logged here when it does not. The
/// answer never depends on the store.
pub(crate) fn break_glass<S: Transactions>(env: &Env<'_, S>, who: &Who) {
    let (audited, _) = env.call(None, |e| e.decide(&who.subject, &who.ctx, env.now()));
    if let Err(e) = audited {
        exempt_without_trail(&env.site(), who, &e.to_string());
    }
}

/// Logs a break-glass login that the audit trail could not record.
pub(crate) fn exempt_without_trail(site: &Site<'_>, who: &Who, why: &str) {
    site.log(
        Severity::Warning,
        &format!(
            "{}: break-glass: exempt by policy, let in without a second factor; not in the audit trail: {why}",
            who.describe()
        ),
    );
}

/// Whether an engine error means the store (not the record or the input) is
/// out of reach, so that only the policy can answer.
pub(crate) fn store_unreachable(err: &Error) -> bool {
    matches!(err, Error::Store(StoreError::Busy | StoreError::Io(_)))
}

/// The answer when the seal key or the store is unusable (`why`).
pub(crate) fn degraded(pam: &dyn Pam, site: &Site<'_>, who: &Who, why: &str) -> PamCode {
    if policy_requires(site, who) {
        site.log(
            Severity::Error,
            &format!(
                "{}: {why}; the policy requires a second factor, failing closed",
                who.describe()
            ),
        );
        let _ = pam.error(UNAVAILABLE);
        return PamCode::AuthInfoUnavail;
    }
    site.log(
        Severity::Warning,
        &format!(
            "{}: {why}; the policy does not require a second factor of this user, so the rest of the stack decides ({})",
            who.describe(),
            PamCode::Ignore
        ),
    );
    PamCode::Ignore
}

/// A whole stage when the seal key or the store file cannot be used (`why`):
/// exempt users in, users the policy does not require ignored, everyone else
/// refused.
pub(crate) fn from_policy_alone(pam: &dyn Pam, site: &Site<'_>, why: &str) -> PamCode {
    let who = match Who::read(pam, site) {
        Ok(w) => w,
        Err(code) => return code,
    };
    if is_exempt(site, &who) {
        exempt_without_trail(site, &who, why);
        return PamCode::Success;
    }
    degraded(pam, site, &who, why)
}
