//! Every prompt and every sentence the module shows the person at the
//! prompt, in one place. The sentences the identity provider shows too come
//! from the one catalogue both read (`planasonix_core::messages`, from
//! `core/messages.txt`); the terminal's own prompts and instructions are
//! here. Log lines are not here: they are for administrators and stay beside
//! the decisions they record.

use planasonix_core::messages as say;
use planasonix_core::{SecretString, TotpEnrollment, UnixTime};
use zeroize::Zeroizing;

// Prompts.

/// The prompt for a code.
pub(crate) const CODE_PROMPT: &str = "Verification code: ";

/// The prompt for a code where the login may be approved in the browser.
pub(crate) const CODE_OR_APPROVE_PROMPT: &str =
    "Verification code, or press Enter to approve in the browser: ";

/// The prompt for a user whose factors cannot be typed (a passkey), where
/// the login may be approved in the browser.
pub(crate) const APPROVE_ONLY_PROMPT: &str =
    "Press Enter to approve this login in the browser (or type a recovery code): ";

/// The prompt while a login waits for its approval.
pub(crate) const APPROVAL_PROMPT: &str = "Press Enter once approved, or type a code: ";

/// What to do in the browser: the page, the code to enter there and the
/// number to pick.
pub(crate) fn approval_instructions(url: &str, code: &str, number: u8, minutes: u64) -> String {
    format!(
        "Open {url} and enter {code}\nThen pick the number {number}. The request lasts {minutes} min; Ctrl-C cancels it."
    )
}

/// The request lapsed, or went away, before it was approved.
pub(crate) const APPROVAL_EXPIRED: &str =
    "The approval request expired before it was approved. Type a code instead.";

/// The user refused the login in the browser.
pub(crate) const APPROVAL_DENIED: &str = "This login was refused in the browser.";

/// Approval cannot be used now; `e` says why.
pub(crate) fn approval_unavailable(e: &planasonix_core::Error) -> String {
    format!("Approval in the browser is not available ({e}). Type a code instead.")
}

/// The prompt after an SMS went to `to` (the masked number).
pub(crate) fn sms_sent_prompt(to: &str) -> String {
    format!("{}: ", say::sms_sent(to))
}

/// The question that offers enrollment.
pub(crate) const ENROLL_QUESTION: &str = "Set up an authenticator app now? [y/N]: ";

/// The prompt for the code that confirms a new app.
pub(crate) const CONFIRM_PROMPT: &str = "Code shown by the app: ";

/// The prompt for the first real code after enrolling.
pub(crate) const NEXT_CODE_PROMPT: &str = "Next code shown by the app: ";

// Refusals and failures.

/// When the module cannot work; details go to syslog only.
pub(crate) const UNAVAILABLE: &str = say::UNAVAILABLE;

/// Locked out after too many wrong codes.
pub(crate) fn locked_until(until: UnixTime) -> String {
    say::locked_until(until)
}

/// The grace period ended without an enrollment.
pub(crate) fn enrollment_overdue(deadline: UnixTime) -> String {
    say::enrollment_overdue(deadline)
}

/// The user's factors are all ones the policy no longer accepts.
pub(crate) const NO_USABLE_FACTOR: &str = say::NO_USABLE_FACTOR;

/// The user's only factor is a passkey, which a terminal cannot take.
pub(crate) const PASSKEY_ONLY: &str =
    "Your second factor is a passkey, which works only in a web browser. \
To log in here, add an authenticator app on your account's Security page, \
or ask an administrator.";

/// A step-up action that requires a phishing-resistant factor (a passkey).
pub(crate) const PASSKEY_NEEDED_HERE: &str =
    "This action needs a passkey, and a passkey works only in a web browser: \
it cannot be approved at this terminal.";

/// The user has a passkey and recovery codes only.
pub(crate) const PASSKEY_HERE_USE_RECOVERY: &str =
    "Your passkey works only in a web browser: type one of your recovery codes here.";

/// The account stage's refusal: what an admin must change.
pub(crate) const HOW_TO_FIX: &str =
    "This login needs a second factor, but the authentication step that asks for it did not run. \
Administrators: for sshd set `KbdInteractiveAuthentication yes` and \
`AuthenticationMethods publickey,keyboard-interactive` (and `UsePAM yes`).";

/// A wrong code.
pub(crate) fn wrong_code(failures_left: u32) -> String {
    say::wrong_code(failures_left)
}

/// A right TOTP code used before.
pub(crate) fn replayed_code(failures_left: u32) -> String {
    say::replayed_code(failures_left)
}

/// A recovery code of the user's set, spent before.
pub(crate) fn spent_recovery_code(failures_left: u32) -> String {
    say::spent_recovery_code(failures_left)
}

/// A right code refused because this host's clock went back.
pub(crate) fn clock_behind(last_accepted: UnixTime) -> String {
    say::clock_behind(last_accepted)
}

/// The SMS the user asked for was not sent (its code is void).
pub(crate) const SMS_NOT_SENT: &str = say::SMS_NOT_SENT;

/// The attempt ends after answers that were neither right nor wrong.
pub(crate) const TOO_MANY_UNUSABLE: &str = "Too many unusable answers.";

/// Enrollment at login given up after wrong confirmation codes.
pub(crate) const NOT_SET_UP: &str = "The app was not set up. You can try again at your next login.";

// Information.

/// A step-up stack whose action needs a fresh second factor.
pub(crate) fn step_up(action: &str) -> String {
    say::step_up(action)
}

/// A login during the grace period.
pub(crate) fn grace_reminder(deadline: UnixTime) -> String {
    say::grace_reminder(deadline)
}

/// A recovery code was accepted.
pub(crate) fn recovery_accepted(remaining: u32) -> String {
    let mut text = say::recovery_accepted(remaining);
    if remaining <= 3 {
        text.push(' ');
        text.push_str(say::RECOVERY_RUNNING_LOW);
    }
    text
}

/// The key of a new app, for manual entry (it is the secret: wiped on drop).
pub(crate) fn manual_key(enrollment: &TotpEnrollment) -> Zeroizing<String> {
    let p = &enrollment.params;
    Zeroizing::new(format!(
        "Scan the QR code with your authenticator app, or enter this key by hand: {} ({}, {} digits, every {} seconds).",
        enrollment.secret_base32.expose(),
        p.algorithm,
        p.digits,
        p.period
    ))
}

/// New recovery codes, one a line (wiped on drop).
pub(crate) fn recovery_codes(codes: &[SecretString]) -> Zeroizing<String> {
    const HEAD: &str = "Your recovery codes. Each works once; keep them somewhere safe:\n";
    // Sized up front so that no copy of a code is left behind by a regrowth.
    let size = HEAD.len() + codes.iter().map(|c| c.expose().len() + 3).sum::<usize>();
    let mut text = Zeroizing::new(String::with_capacity(size));
    text.push_str(HEAD);
    for c in codes {
        text.push_str("  ");
        text.push_str(c.expose());
        text.push('\n');
    }
    text
}

/// After enrollment, the code that finishes this login.
pub(crate) const FINISH_ENROLLMENT: &str =
    "To finish signing in, enter the next code your app shows (it changes every 30 seconds).";

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
