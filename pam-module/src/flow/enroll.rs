//! The grace period: a reminder, and (if the policy allows) enrolling an
//! authenticator app right at the prompt.

use super::auth::{ask_code, capitalise};
use super::{fail, Env, Who};
use crate::backend::Backend;
use crate::code::PamCode;
use crate::log::Severity;
use crate::pam::{Pam, PamError};
use planasonix_core::{Error, Random, UnixTime};

/// Confirmation codes a person may try before enrollment is left for later.
const CONFIRM_TRIES: usize = 3;

/// The question that offers enrollment.
pub(crate) const ENROLL_QUESTION: &str = "Set up an authenticator app now? [y/N]: ";

/// The prompt for the code that confirms a new app.
pub(crate) const CONFIRM_PROMPT: &str = "Code shown by the app: ";

/// The prompt for the first real code after enrolling.
pub(crate) const NEXT_CODE_PROMPT: &str = "Next code shown by the app: ";

/// A login during the grace period.
pub(crate) fn grace<B: Backend>(
    pam: &dyn Pam,
    env: &Env<'_, B>,
    who: &Who,
    rng: &mut dyn Random,
    deadline: UnixTime,
    may_enroll_now: bool,
) -> PamCode {
    let _ = pam.info(&format!(
        "Two-factor authentication becomes mandatory for your account on {deadline}. Set up an authenticator app before then."
    ));
    env.log.log(
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
fn enroll<B: Backend>(pam: &dyn Pam, env: &Env<'_, B>, who: &Who, rng: &mut dyn Random) -> PamCode {
    let user = who.user();
    let (begun, _) = env.call(|e| e.begin_totp(user, env.now(), &mut *rng));
    let enrollment = match begun {
        Ok(en) => en,
        Err(e) => return fail(pam, env, who, &e),
    };
    if let Ok(qr) = enrollment.qr() {
        let _ = pam.info(qr.terminal(false).expose());
    }
    let p = enrollment.params;
    let _ = pam.info(&format!(
        "Scan the QR code with your authenticator app, or enter this key by hand: {} ({}, {} digits, every {} seconds).",
        enrollment.secret_base32.expose(),
        p.algorithm,
        p.digits,
        p.period
    ));
    drop(enrollment);
    for _ in 0..CONFIRM_TRIES {
        let code = match pam.prompt_secret(CONFIRM_PROMPT) {
            Ok(c) => c,
            Err(PamError(code)) => return code,
        };
        let (confirmed, _) = env.call(|e| e.confirm_totp(user, &code, env.now(), &mut *rng));
        drop(code);
        match confirmed {
            Ok(done) => {
                env.log.log(
                    Severity::Notice,
                    &format!("{}: enrolled an authenticator app at login", who.describe()),
                );
                if !done.recovery_codes.is_empty() {
                    let mut text = String::from(
                        "Your recovery codes. Each works once; keep them somewhere safe:\n",
                    );
                    for c in &done.recovery_codes {
                        text.push_str("  ");
                        text.push_str(c.expose());
                        text.push('\n');
                    }
                    let _ = pam.info(&text);
                    zeroize::Zeroize::zeroize(&mut text);
                }
                let _ = pam.info("To finish signing in, enter the next code your app shows (it changes every 30 seconds).");
                return ask_code(pam, env, who, rng, NEXT_CODE_PROMPT);
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
    let _ = pam.error("The app was not set up. You can try again at your next login.");
    PamCode::Success
}
