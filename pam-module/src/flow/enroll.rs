//! The grace period: a reminder, and (if the policy allows) enrolling an
//! authenticator app right at the prompt.

use super::env::Env;
use super::messages::{self, capitalise, CONFIRM_PROMPT, ENROLL_QUESTION, NEXT_CODE_PROMPT};
use super::outcome::fail;
use super::verify::ask_code;
use super::who::Who;
use crate::code::PamCode;
use crate::pam::{Pam, PamError};
use planasonix_core::{Error, Random, UnixTime};
use planasonix_native::syslog::Severity;
use planasonix_native::Transactions;

/// Confirmation codes a person may try before enrollment is left for later.
const CONFIRM_TRIES: usize = 3;

/// A login during the grace period.
pub(crate) fn grace<S: Transactions>(
    pam: &dyn Pam,
    env: &Env<'_, S>,
    who: &Who,
    rng: &mut dyn Random,
    deadline: UnixTime,
    may_enroll_now: bool,
) -> PamCode {
    let _ = pam.info(&messages::grace_reminder(deadline));
    env.log(
        Severity::Info,
        &format!("{}: grace login until {deadline}", who.describe()),
    );
    if !may_enroll_now {
        return PamCode::Success;
    }
    let answer = match pam.prompt_visible(ENROLL_QUESTION) {
        Ok(a) => a,
        Err(PamError(code)) => return code,
    };
    if !wants_enrollment(&answer) {
        return PamCode::Success;
    }
    enroll(pam, env, who, rng)
}

/// Whether the answer to [`ENROLL_QUESTION`] is yes (`y` or `yes`, any case,
/// surrounding blanks ignored). Anything else, unreadable bytes included, is no.
pub fn wants_enrollment(answer: &[u8]) -> bool {
    core::str::from_utf8(answer)
        .map(|a| matches!(a.trim().to_ascii_lowercase().as_str(), "y" | "yes"))
        .unwrap_or(false)
}

/// Enrolls an app: QR code and key, a confirmation code, recovery codes, then
/// the next code as a normal verification, so that this login counts as a
/// passed MFA for the account stage (which sshd runs in another process).
fn enroll<S: Transactions>(
    pam: &dyn Pam,
    env: &Env<'_, S>,
    who: &Who,
    rng: &mut dyn Random,
) -> PamCode {
    let user = who.user();
    let (begun, _) = env.call(None, |e| e.begin_totp(user, env.now(), &mut *rng));
    let enrollment = match begun {
        Ok(en) => en,
        Err(e) => return fail(pam, env, who, &e),
    };
    if let Ok(qr) = enrollment.qr() {
        let _ = pam.info(qr.terminal(false).expose());
    }
    let _ = pam.info(&messages::manual_key(&enrollment));
    drop(enrollment);
    for _ in 0..CONFIRM_TRIES {
        let code = match pam.prompt_secret(CONFIRM_PROMPT) {
            Ok(c) => c,
            Err(PamError(code)) => return code,
        };
        let (confirmed, _) = env.call(None, |e| e.confirm_totp(user, &code, env.now(), &mut *rng));
        drop(code);
        match confirmed {
            Ok(done) => {
                env.log(
                    Severity::Notice,
                    &format!("{}: enrolled an authenticator app at login", who.describe()),
                );
                if !done.recovery_codes.is_empty() {
                    let _ = pam.info(&messages::recovery_codes(&done.recovery_codes));
                }
                let _ = pam.info(messages::FINISH_ENROLLMENT);
                return ask_code(pam, env, who, rng, NEXT_CODE_PROMPT, false);
            }
            Err(e @ (Error::WrongCode | Error::Input(_))) => {
                let _ = pam.error(&capitalise(&e.to_string()));
            }
            Err(e @ Error::NoPendingEnrollment(_)) => {
                let _ = pam.error(&capitalise(&e.to_string()));
                return PamCode::Success;
            }
            Err(e) => return fail(pam, env, who, &e),
        }
    }
    let _ = pam.error(messages::NOT_SET_UP);
    PamCode::Success
}
