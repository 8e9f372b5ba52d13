//! `pam_sm_acct_mgmt`: the safety net for logins that skipped our auth step.
//!
//! sshd with public keys alone never runs the PAM auth stack; with
//! keyboard-interactive it runs auth and account on the same PAM handle (in
//! its PAM subprocess), so the auth stage's module data is there. A login is
//! let through here only when this very handle passed our auth step, or when
//! the policy does not ask this user for a code right now. Earlier versions
//! also accepted any MFA the same user passed on the same service and remote
//! host within 120 s, read from the store; that let a key-only login opened
//! beside the victim's ride the victim's MFA, and is gone.

use super::degraded::{break_glass, degraded, is_exempt, store_unreachable};
use super::env::Env;
use super::messages::{self, HOW_TO_FIX};
use super::outcome::fail;
use super::who::Who;
use crate::code::PamCode;
use crate::pam::Pam;
use planasonix_core::{Decision, Denied, NotRequired};
use planasonix_native::syslog::Severity;
use planasonix_native::Transactions;

/// The account stage.
pub(crate) fn account<S: Transactions>(pam: &dyn Pam, env: &Env<'_, S>) -> PamCode {
    let site = env.site();
    let who = match Who::read(pam, &site) {
        Ok(w) => w,
        Err(code) => return code,
    };
    if pam.passed() {
        return PamCode::Success;
    }
    if is_exempt(&site, &who) {
        break_glass(env, &who);
        return PamCode::Success;
    }
    let (decision, _) = env.call(None, |e| e.decide(&who.subject, &who.ctx, env.now()));
    let decision = match decision {
        Ok(d) => d,
        Err(e) if store_unreachable(&e) => return degraded(pam, &site, &who, &e.to_string()),
        Err(e) => return fail(pam, env, &who, &e),
    };
    let refuse = |what: &str, message: &str| {
        let _ = pam.error(message);
        env.log(
            Severity::Notice,
            &format!("{}: account stage refused: {what}", who.describe()),
        );
        PamCode::PermDenied
    };
    match decision {
        Decision::NotRequired(NotRequired::OutOfScope) => PamCode::Ignore,
        Decision::NotRequired(_) => PamCode::Success,
        Decision::Grace { deadline, .. } => {
            let _ = pam.info(&messages::grace_reminder(deadline));
            PamCode::Success
        }
        // Only this handle's own auth step counts (checked above): a passed
        // MFA of the same user elsewhere, however recent, is someone else's
        // login and must not carry a key-only login beside it.
        Decision::Required { .. } => refuse("no second factor in this login", HOW_TO_FIX),
        Decision::Denied(Denied::LockedOut { until }) => {
            refuse("locked out", &messages::locked_until(until))
        }
        Decision::Denied(Denied::EnrollmentOverdue { deadline }) => refuse(
            "enrollment overdue",
            &messages::enrollment_overdue(deadline),
        ),
        Decision::Denied(Denied::NoUsableFactor) => {
            refuse("no usable factor", messages::NO_USABLE_FACTOR)
        }
        Decision::Denied(Denied::NoPhishingResistantFactor) => refuse(
            "no phishing-resistant factor",
            messages::PASSKEY_NEEDED_HERE,
        ),
    }
}
