//! How an attempt ends that both stages and every path share: passed, or
//! an engine error turned into a return code.

use super::env::Env;
use super::messages;
use super::who::Who;
use crate::code::PamCode;
use crate::pam::{Pam, PamError};
use planasonix_core::Error;
use planasonix_native::syslog::Severity;
use planasonix_native::Transactions;

/// Marks the transaction as passed for the account stage.
pub(crate) fn passed<S: Transactions>(pam: &dyn Pam, env: &Env<'_, S>, who: &Who) -> PamCode {
    if let Err(PamError(code)) = pam.set_passed() {
        env.log(
            Severity::Error,
            &format!("{}: cannot keep module data: {code}", who.describe()),
        );
        return PamCode::AuthInfoUnavail;
    }
    PamCode::Success
}

/// The code for an engine error that ends the attempt, logged, with a message
/// for the user where one helps. Unusable policy, key or store fail closed.
pub(crate) fn fail<S: Transactions>(
    pam: &dyn Pam,
    env: &Env<'_, S>,
    who: &Who,
    err: &Error,
) -> PamCode {
    let code = match err {
        Error::Locked { until } => {
            let _ = pam.error(&messages::locked_until(*until));
            PamCode::MaxTries
        }
        Error::UserName(_) => PamCode::UserUnknown,
        Error::NotEnrolled => PamCode::AuthErr,
        _ => {
            let _ = pam.error(messages::UNAVAILABLE);
            PamCode::AuthInfoUnavail
        }
    };
    let severity = if code == PamCode::AuthInfoUnavail {
        Severity::Error
    } else {
        Severity::Notice
    };
    env.log(severity, &format!("{}: {err} -> {code}", who.describe()));
    code
}
