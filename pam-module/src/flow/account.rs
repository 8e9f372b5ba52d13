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

use super::auth::break_glass;
use super::degraded::{degraded, is_exempt, store_unreachable};
use super::{fail, Env, Who};
use crate::backend::Backend;
use crate::code::PamCode;
use crate::log::Severity;
use crate::pam::Pam;
use planasonix_core::{Decision, Denied, NotRequired};
/// What an admin must change when the account stage refuses.
pub(crate) const HOW_TO_FIX: &str =
    "This login needs a second factor, but the authentication step that asks for it did not run. \
Administrators: for sshd set `KbdInteractiveAuthentication yes` and \
`AuthenticationMethods publickey,keyboard-interactive` (and `UsePAM yes`).";

/// The account stage.
pub(crate) fn account<B: Backend>(pam: &dyn Pam, env: &Env<'_, B>) -> PamCode {
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
    let (decision, _) = env.call(|e| e.decide(&who.subject, &who.ctx, env.now()));
    let decision = match decision {
        Ok(d) => d,
        Err(e) if store_unreachable(&e) => return degraded(pam, &site, &who, &e.to_string()),
        Err(e) => return fail(pam, env, &who, &e),
    };
    let refuse = |what: &str, message: &str| {
        let _ = pam.error(message);
        env.log.log(
            Severity::Notice,
            &format!("{}: account stage refused: {what}", who.describe()),
        );
        PamCode::PermDenied
    };
    match decision {
        Decision::NotRequired(NotRequired::OutOfScope) => PamCode::Ignore,
        Decision::NotRequired(_) => PamCode::Success,
        Decision::Grace { deadline, .. } => {
            let _ = pam.info(&format!(
                "Two-factor authentication becomes mandatory for your account on {deadline}. Set up an authenticator app before then."
            ));
            PamCode::Success
        }
        // Only this handle's own auth step counts (checked above): a passed
        // MFA of the same user elsewhere, however recent, is someone else's
        // login and must not carry a key-only login beside it.
        Decision::Required { .. } => refuse("no second factor in this login", HOW_TO_FIX),
        Decision::Denied(Denied::LockedOut { until }) => refuse(
            "locked out",
            &format!("Too many wrong codes: second-factor sign-in is locked until {until}."),
        ),
        Decision::Denied(Denied::EnrollmentOverdue { deadline }) => refuse(
            "enrollment overdue",
            &format!("Two-factor enrollment was due by {deadline}. Ask your administrator to reset your enrollment window."),
        ),
        Decision::Denied(Denied::NoUsableFactor) => refuse(
            "no usable factor",
            "None of your second factors is usable under the current policy; contact your administrator.",
        ),
    }
}
