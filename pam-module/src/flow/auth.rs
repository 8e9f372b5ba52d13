//! `pam_sm_authenticate`: decide, then ask for a code if one is needed.

use super::degraded::{break_glass, degraded, is_exempt, store_unreachable};
use super::enroll::grace;
use super::env::Env;
use super::messages::{self, CODE_PROMPT};
use super::outcome::{fail, passed};
use super::verify::ask_code;
use super::who::Who;
use crate::code::PamCode;
use crate::pam::Pam;
use planasonix_core::{Decision, Denied, Factor, NotRequired, Random};
use planasonix_native::syslog::Severity;
use planasonix_native::Transactions;

/// The auth stage.
pub(crate) fn authenticate<S: Transactions>(
    pam: &dyn Pam,
    env: &Env<'_, S>,
    rng: &mut dyn Random,
) -> PamCode {
    let site = env.site();
    let who = match Who::read(pam, &site) {
        Ok(w) => w,
        Err(code) => return code,
    };
    if is_exempt(&site, &who) {
        break_glass(env, &who);
        return passed(pam, env, &who);
    }
    let (decision, _) = env.call(None, |e| e.decide(&who.subject, &who.ctx, env.now()));
    let decision = match decision {
        Ok(d) => d,
        Err(e) if store_unreachable(&e) => return degraded(pam, &site, &who, &e.to_string()),
        Err(e) => return fail(pam, env, &who, &e),
    };
    let line = |what: &str| env.log(Severity::Info, &format!("{}: {what}", who.describe()));
    match decision {
        Decision::NotRequired(NotRequired::OutOfScope) => {
            env.log(
                Severity::Debug,
                &format!("{}: outside the policy's scope", who.describe()),
            );
            PamCode::Ignore
        }
        Decision::NotRequired(why) => {
            line(&format!("no code needed ({})", not_required(&why)));
            passed(pam, env, &who)
        }
        Decision::Grace {
            deadline,
            may_enroll_now,
        } => grace(pam, env, &who, rng, deadline, may_enroll_now),
        Decision::Required { step_up, factors } => {
            // A passkey answers in a browser only; a terminal takes codes.
            let typed = |f: &Factor| matches!(f, Factor::Totp | Factor::Sms | Factor::Recovery);
            if !factors.iter().any(typed) && step_up.is_some() {
                let _ = pam.error(messages::PASSKEY_NEEDED_HERE);
                line("refused: the action needs a passkey, and a terminal cannot take it");
                return PamCode::AuthErr;
            }
            let approvable = site.policy.approval.offered_to(&who.ctx.service);
            let app_or_sms = factors
                .iter()
                .any(|f| matches!(f, Factor::Totp | Factor::Sms));
            if approvable && !app_or_sms {
                // A passkey cannot answer here, but it can approve the login
                // at the identity provider (a recovery code still works).
                return ask_code(pam, env, &who, rng, messages::APPROVE_ONLY_PROMPT, true);
            }
            if !factors.iter().any(typed) {
                let _ = pam.error(messages::PASSKEY_ONLY);
                line("refused: a passkey is the user's only factor, and a terminal cannot take it");
                return PamCode::AuthErr;
            }
            if factors == [Factor::Passkey, Factor::Recovery] {
                let _ = pam.info(messages::PASSKEY_HERE_USE_RECOVERY);
            }
            if let Some(action) = step_up {
                let _ = pam.info(&messages::step_up(&action));
            }
            if approvable {
                ask_code(pam, env, &who, rng, messages::CODE_OR_APPROVE_PROMPT, true)
            } else {
                ask_code(pam, env, &who, rng, CODE_PROMPT, false)
            }
        }
        Decision::Denied(Denied::LockedOut { until }) => {
            let _ = pam.error(&messages::locked_until(until));
            line("refused: locked out");
            PamCode::MaxTries
        }
        Decision::Denied(Denied::EnrollmentOverdue { deadline }) => {
            let _ = pam.error(&messages::enrollment_overdue(deadline));
            line("refused: enrollment overdue");
            PamCode::AuthErr
        }
        Decision::Denied(Denied::NoUsableFactor) => {
            let _ = pam.error(messages::NO_USABLE_FACTOR);
            line("refused: no usable factor");
            PamCode::AuthErr
        }
        Decision::Denied(Denied::NoPhishingResistantFactor) => {
            let _ = pam.error(messages::PASSKEY_NEEDED_HERE);
            line("refused: the action needs a passkey, and the user has none");
            PamCode::AuthErr
        }
    }
}

fn not_required(why: &NotRequired) -> &'static str {
    match why {
        NotRequired::OutOfScope => "out of scope",
        NotRequired::Exempt => "exempt",
        NotRequired::UpstreamMfa => "upstream MFA",
        NotRequired::Remembered { .. } => "remembered",
        NotRequired::RecentMfa { .. } => "recent MFA",
    }
}
