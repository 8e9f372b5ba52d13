//! `pam_sm_authenticate`: decide, then ask for a code if one is needed.

use super::degraded::{degraded, exempt_without_trail, is_exempt, store_unreachable};
use super::enroll::grace;
use super::{fail, Env, Who};
use crate::backend::Backend;
use crate::code::PamCode;
use crate::log::Severity;
use crate::pam::{Pam, PamError};
use planasonix_core::{Decision, Denied, Error, Factor, NotRequired, Random, Verification};

/// Prompts per call that may end without a verdict (unreadable input, `sms`).
const MAX_PROMPTS: usize = 3;

/// The prompt for a code.
pub(crate) const CODE_PROMPT: &str = "Verification code: ";

/// The auth stage.
pub(crate) fn authenticate<B: Backend>(
    pam: &dyn Pam,
    env: &Env<'_, B>,
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
    let (decision, _) = env.call(|e| e.decide(&who.subject, &who.ctx, env.now()));
    let decision = match decision {
        Ok(d) => d,
        Err(e) if store_unreachable(&e) => return degraded(pam, &site, &who, &e.to_string()),
        Err(e) => return fail(pam, env, &who, &e),
    };
    let line = |what: &str| {
        env.log
            .log(Severity::Info, &format!("{}: {what}", who.describe()))
    };
    match decision {
        Decision::NotRequired(NotRequired::OutOfScope) => {
            env.log.log(
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
        Decision::Required { step_up, .. } => {
            if let Some(action) = step_up {
                let _ = pam.info(&format!("{action} needs a recent second factor."));
            }
            ask_code(pam, env, &who, rng, CODE_PROMPT)
        }
        Decision::Denied(Denied::LockedOut { until }) => {
            let _ = pam.error(&format!(
                "Too many wrong codes: second-factor sign-in is locked until {until}."
            ));
            line("refused: locked out");
            PamCode::MaxTries
        }
        Decision::Denied(Denied::EnrollmentOverdue { deadline }) => {
            let _ = pam.error(&format!(
                "Two-factor enrollment was due by {deadline}. Ask your administrator to reset your enrollment window."
            ));
            line("refused: enrollment overdue");
            PamCode::AuthErr
        }
        Decision::Denied(Denied::NoUsableFactor) => {
            let _ = pam.error("None of your second factors is usable under the current policy; contact your administrator.");
            line("refused: no usable factor");
            PamCode::AuthErr
        }
    }
}

/// A break-glass login: audited through the engine when the store takes it
/// (the engine logs it at warning level), logged here when it does not. The
/// answer never depends on the store.
pub(crate) fn break_glass<B: Backend>(env: &Env<'_, B>, who: &Who) {
    let (audited, _) = env.call(|e| e.decide(&who.subject, &who.ctx, env.now()));
    if let Err(e) = audited {
        exempt_without_trail(&env.site(), who, &e.to_string());
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

/// Marks the transaction as passed for the account stage.
fn passed<B: Backend>(pam: &dyn Pam, env: &Env<'_, B>, who: &Who) -> PamCode {
    if let Err(PamError(code)) = pam.set_passed() {
        env.log.log(
            Severity::Error,
            &format!("{}: cannot keep module data: {code}", who.describe()),
        );
        return PamCode::AuthInfoUnavail;
    }
    PamCode::Success
}

/// Asks for a code until one is judged (or too many answers were unusable).
pub(crate) fn ask_code<B: Backend>(
    pam: &dyn Pam,
    env: &Env<'_, B>,
    who: &Who,
    rng: &mut dyn Random,
    first_prompt: &str,
) -> PamCode {
    let mut prompt = first_prompt.to_owned();
    let user = who.user();
    for _ in 0..MAX_PROMPTS {
        let answer = match pam.prompt_secret(&prompt) {
            Ok(a) => a,
            Err(PamError(code)) => {
                env.log.log(
                    Severity::Notice,
                    &format!("{}: conversation failed: {code}", who.describe()),
                );
                return code;
            }
        };
        let (result, undelivered) =
            env.call(|e| e.verify(user, &answer, &who.ctx, env.now(), &mut *rng));
        drop(answer);
        let line =
            |sev: Severity, what: &str| env.log.log(sev, &format!("{}: {what}", who.describe()));
        match result {
            Ok(Verification::Accepted {
                factor,
                recovery_remaining,
            }) => {
                if factor == Factor::Recovery {
                    let mut text = format!(
                        "Recovery code accepted. {recovery_remaining} recovery codes left."
                    );
                    if recovery_remaining <= 3 {
                        text.push_str(" Generate a new set soon.");
                    }
                    let _ = pam.info(&text);
                }
                line(Severity::Info, &format!("accepted ({factor})"));
                return passed(pam, env, who);
            }
            Ok(Verification::SmsSent { to }) => {
                if undelivered.iter().any(|u| u.sms) {
                    let _ = pam.error(
                        "The SMS could not be sent. Use your authenticator app or a recovery code.",
                    );
                    prompt = CODE_PROMPT.to_owned();
                } else {
                    prompt = format!("Code sent by SMS to {to}: ");
                }
            }
            Ok(Verification::Rejected { failures_left }) => {
                let _ = pam.error(&format!(
                    "Wrong code. {failures_left} more wrong codes lock second-factor sign-in."
                ));
                line(Severity::Notice, "wrong code");
                return PamCode::AuthErr;
            }
            Ok(Verification::Replayed { failures_left }) => {
                let _ = pam.error(&format!(
                    "That code was already used. Wait for the next one. {failures_left} more wrong codes lock second-factor sign-in."
                ));
                line(Severity::Notice, "replayed code");
                return PamCode::AuthErr;
            }
            Ok(Verification::ClockBehind { last_accepted }) => {
                let _ = pam.error(&format!(
                    "This server's clock is behind: a later code was already accepted for you (at {last_accepted}). This did not count as a wrong code; ask your administrator to check the clock."
                ));
                line(
                    Severity::Warning,
                    &format!("right code refused: the last accepted code's step ({last_accepted}) lies ahead of this clock; check the system clock (not counted as a failure)"),
                );
                return PamCode::AuthErr;
            }
            Ok(Verification::Locked { until }) => {
                let _ = pam.error(&format!(
                    "Too many wrong codes: second-factor sign-in is locked until {until}."
                ));
                line(Severity::Notice, "locked out");
                return PamCode::MaxTries;
            }
            Err(e @ Error::Input(_))
            | Err(
                e @ (Error::SmsDisabled
                | Error::SmsNotEnrolled
                | Error::SmsRateLimited { .. }
                | Error::SmsDeliveryFailed(_)),
            ) => {
                let _ = pam.error(&capitalise(&e.to_string()));
                line(Severity::Debug, &format!("unusable answer: {e}"));
                prompt = CODE_PROMPT.to_owned();
            }
            Err(e) => return fail(pam, env, who, &e),
        }
    }
    let _ = pam.error("Too many unusable answers.");
    PamCode::AuthErr
}

/// Messages from the core start in lower case; shown alone they read better capitalised.
pub fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => {
            let mut s: String = first.to_uppercase().collect();
            s.push_str(chars.as_str());
            if !s.ends_with('.') {
                s.push('.');
            }
            s
        }
        None => String::new(),
    }
}
