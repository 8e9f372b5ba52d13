//! `pam_sm_acct_mgmt`: the safety net for logins that skipped our auth step.
//!
//! sshd with public keys alone never runs the PAM auth stack, and with
//! keyboard-interactive it runs it in another process, so module data from the
//! auth stage may be missing here. A passed MFA is therefore also looked up in
//! the store (the core marks it per user, service and remote host), for at most
//! [`RECENT_MFA_MAX_AGE`].

use super::auth::break_glass;
use super::degraded::{degraded, is_exempt, store_unreachable};
use super::{fail, Env, Who};
use crate::backend::Backend;
use crate::code::PamCode;
use crate::log::Severity;
use crate::pam::Pam;
use planasonix_core::{Decision, Denied, NotRequired};
use std::time::Duration;

/// How old a passed MFA in the store may be for the account stage to accept it.
pub(crate) const RECENT_MFA_MAX_AGE: Duration = Duration::from_secs(120);

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
        Decision::Required { .. } => {
            let user = who.user();
            let service = who.ctx.service.as_str();
            let remote = who.ctx.remote.as_deref();
            // A step-up action never accepts an MFA older than its own limit.
            let step_up_age = who
                .ctx
                .action
                .as_ref()
                .and_then(|a| env.backend.policy().step_up.get(a))
                .map(|m| m.0);
            let max_age = step_up_age.map_or(RECENT_MFA_MAX_AGE, |a| a.min(RECENT_MFA_MAX_AGE));
            let (recent, _) = env.call(|e| e.recent_mfa(user, service, remote, max_age, env.now()));
            match recent {
                Ok(Some(_)) => PamCode::Success,
                Ok(None) => refuse("no second factor in this login", HOW_TO_FIX),
                Err(e) => fail(pam, env, &who, &e),
            }
        }
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
