//! Approving the login in the browser: where the policy's `[approval]`
//! offers it to this service, an empty answer at the code prompt asks the
//! engine for a request bound to this login, shows its page, code and
//! number, and waits for the user to approve it at the identity provider.
//! A code typed instead still works (the request is then void); anything
//! that goes wrong falls back to the code prompt, and break-glass never
//! comes here.
//!
//! The wait reads the user's record afresh (not the copy this login
//! remembers from its decision), one short store transaction per look,
//! never holding one open; sshd shows messages only with the next prompt,
//! so the instructions come with a prompt that the user answers with Enter
//! (or a code) once they approved.

use super::env::Env;
use super::messages;
use super::outcome::passed;
use super::who::Who;
use crate::code::PamCode;
use crate::pam::{Pam, PamError};
use planasonix_core::{ApprovalOutcome, Random};
use planasonix_native::syslog::Severity;
use planasonix_native::Transactions;
use std::time::{Duration, Instant};
use zeroize::Zeroizing;

/// How often the wait looks at the record.
const LOOK_EVERY: Duration = Duration::from_millis(100);

/// How an approval attempt ended.
pub(crate) enum Approval {
    /// The login is decided.
    Done(PamCode),
    /// The user typed this instead of waiting: judge it as a code.
    Typed(Zeroizing<Vec<u8>>),
    /// Not available now (why already shown): ask for a code.
    Fallback,
}

/// Asks for the login to be approved in the browser, and waits for it.
pub(crate) fn approve<S: Transactions>(
    pam: &dyn Pam,
    env: &Env<'_, S>,
    who: &Who,
    rng: &mut dyn Random,
) -> Approval {
    let user = who.user();
    let line = |sev: Severity, what: &str| env.log(sev, &format!("{}: {what}", who.describe()));
    let host = planasonix_native::host_name();
    let (started, _) = env.call(None, |e| {
        e.begin_approval(user, &host, &who.ctx, env.now(), &mut *rng)
    });
    let start = match started {
        Ok(s) => s,
        Err(e) => {
            let _ = pam.error(&messages::approval_unavailable(&e));
            line(
                Severity::Notice,
                &format!("no approval in the browser: {e}"),
            );
            return Approval::Fallback;
        }
    };
    line(Severity::Info, "asked for approval in the browser");
    let void = |reason: &str| {
        let (voided, _) = env.call(None, |e| {
            e.void_approval(user, &start.handle, reason, &who.ctx, env.now())
        });
        if let Err(e) = voided {
            line(
                Severity::Warning,
                &format!(
                    "the approval request could not be voided ({e}); it lapses at {}",
                    start.expires
                ),
            );
        }
    };
    let wait_minutes = start.expires.since(env.now()).as_secs().div_ceil(60);
    // The page with the code filled in, for a phone's camera.
    let link = format!("{}?code={}", start.url, start.code.replace('-', ""));
    if let Ok(qr) = planasonix_core::qr::Qr::new(&link) {
        let _ = pam.info(qr.terminal(false).expose());
    }
    let _ = pam.info(&messages::approval_instructions(
        &start.url,
        &start.code,
        start.number,
        wait_minutes,
    ));
    let answer = match pam.prompt_secret(messages::APPROVAL_PROMPT) {
        Ok(a) => a,
        Err(PamError(code)) => {
            void("the prompt ended");
            line(
                Severity::Notice,
                "conversation ended while waiting for approval",
            );
            return Approval::Done(code);
        }
    };
    if !answer.iter().all(u8::is_ascii_whitespace) {
        void("a code was typed");
        return Approval::Typed(answer);
    }
    // Also bounded by this machine's monotonic clock: a wall clock set back
    // does not stretch the wait past the request's lifetime.
    let give_up = Instant::now() + start.expires.since(env.now());
    loop {
        if Instant::now() >= give_up {
            void("it lapsed");
            let _ = pam.error(messages::APPROVAL_EXPIRED);
            line(Severity::Notice, "the approval request expired");
            return Approval::Fallback;
        }
        // What the provider wrote since, not what this login read before.
        env.engine.read_afresh();
        let (outcome, _) = env.call(None, |e| {
            e.approval_outcome(user, &start.handle, &who.ctx, env.now())
        });
        match outcome {
            Ok(ApprovalOutcome::Waiting { expires }) if expires > env.now() => {
                std::thread::sleep(LOOK_EVERY);
            }
            Ok(ApprovalOutcome::Waiting { .. }) | Ok(ApprovalOutcome::Expired) => {
                let _ = pam.error(messages::APPROVAL_EXPIRED);
                line(Severity::Notice, "the approval request expired");
                return Approval::Fallback;
            }
            Ok(ApprovalOutcome::Approved) => {
                line(Severity::Info, "approved in the browser");
                return Approval::Done(passed(pam, env, who));
            }
            Ok(ApprovalOutcome::Denied) => {
                let _ = pam.error(messages::APPROVAL_DENIED);
                line(Severity::Warning, "refused in the browser");
                return Approval::Done(PamCode::AuthErr);
            }
            Ok(ApprovalOutcome::Gone) => {
                let _ = pam.error(messages::APPROVAL_EXPIRED);
                line(Severity::Notice, "the approval request is gone");
                return Approval::Fallback;
            }
            Err(e) => {
                void("the store failed while waiting");
                let _ = pam.error(&messages::approval_unavailable(&e));
                line(
                    Severity::Warning,
                    &format!("waiting for approval failed: {e}"),
                );
                return Approval::Fallback;
            }
        }
    }
}
