//! Asking for a code until one is judged: the loop a login runs when a
//! second factor is required, and the last step of enrolling at login.

use super::approve::{approve, Approval};
use super::env::Env;
use super::messages::{self, capitalise, CODE_PROMPT};
use super::outcome::{fail, passed};
use super::who::Who;
use crate::code::PamCode;
use crate::pam::{Pam, PamError};
use planasonix_core::{Error, Factor, Random, SmsPurpose, Verification};
use planasonix_native::syslog::Severity;
use planasonix_native::{SmsFor, Transactions, Undelivered};

/// Prompts per call that may end without a verdict (unreadable input, `sms`).
const MAX_PROMPTS: usize = 3;

/// Asks for a code, starting with `first_prompt`, until one is judged (or
/// too many answers were unusable). With `offer_approval`, an empty answer
/// asks for the login to be approved in the browser instead (once).
pub(crate) fn ask_code<S: Transactions>(
    pam: &dyn Pam,
    env: &Env<'_, S>,
    who: &Who,
    rng: &mut dyn Random,
    first_prompt: &str,
    mut offer_approval: bool,
) -> PamCode {
    let mut prompt = first_prompt.to_owned();
    let user = who.user();
    // An SMS this login asks for that cannot be sent has its code voided.
    let sms = SmsFor {
        user,
        purpose: SmsPurpose::Login,
        ctx: Some(&who.ctx),
    };
    for _ in 0..MAX_PROMPTS {
        let mut answer = match pam.prompt_secret(&prompt) {
            Ok(a) => a,
            Err(PamError(code)) => {
                env.log(
                    Severity::Notice,
                    &format!("{}: conversation failed: {code}", who.describe()),
                );
                return code;
            }
        };
        if offer_approval && answer.iter().all(u8::is_ascii_whitespace) {
            offer_approval = false;
            match approve(pam, env, who, rng) {
                Approval::Done(code) => return code,
                Approval::Typed(typed) => answer = typed,
                Approval::Fallback => {
                    prompt = CODE_PROMPT.to_owned();
                    continue;
                }
            }
        }
        let (result, undelivered) = env.call(Some(sms), |e| {
            e.verify(user, &answer, &who.ctx, env.now(), &mut *rng)
        });
        drop(answer);
        let line = |sev: Severity, what: &str| env.log(sev, &format!("{}: {what}", who.describe()));
        match result {
            Ok(Verification::Accepted {
                factor,
                recovery_remaining,
            }) => {
                if factor == Factor::Recovery {
                    let _ = pam.info(&messages::recovery_accepted(recovery_remaining));
                }
                line(Severity::Info, &format!("accepted ({factor})"));
                return passed(pam, env, who);
            }
            Ok(Verification::SmsSent { to }) => {
                if undelivered
                    .iter()
                    .any(|u| matches!(u, Undelivered::Sms { .. }))
                {
                    let _ = pam.error(messages::SMS_NOT_SENT);
                    prompt = CODE_PROMPT.to_owned();
                } else {
                    prompt = messages::sms_sent_prompt(&to);
                }
            }
            Ok(Verification::Rejected { failures_left }) => {
                let _ = pam.error(&messages::wrong_code(failures_left));
                line(Severity::Notice, "wrong code");
                return PamCode::AuthErr;
            }
            Ok(Verification::Replayed { failures_left }) => {
                let _ = pam.error(&messages::replayed_code(failures_left));
                line(Severity::Notice, "replayed code");
                return PamCode::AuthErr;
            }
            Ok(Verification::RecoveryCodeSpent { failures_left }) => {
                let _ = pam.error(&messages::spent_recovery_code(failures_left));
                line(Severity::Notice, "recovery code used before");
                return PamCode::AuthErr;
            }
            Ok(Verification::ClockBehind { last_accepted }) => {
                let _ = pam.error(&messages::clock_behind(last_accepted));
                line(
                    Severity::Warning,
                    &format!("right code refused: the last accepted code's step ({last_accepted}) lies ahead of this clock; check the system clock (not counted as a failure)"),
                );
                return PamCode::AuthErr;
            }
            Ok(Verification::Locked { until }) => {
                let _ = pam.error(&messages::locked_until(until));
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
    let _ = pam.error(messages::TOO_MANY_UNUSABLE);
    PamCode::AuthErr
}
