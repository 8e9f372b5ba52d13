//! The crate's one error type.

use crate::audit::Factor;
use crate::engine::{ApprovalError, PasskeyError};
use crate::input::{InputError, UserNameError};
use crate::phone::PhoneError;
use crate::policy::PolicyError;
use crate::random::RandomError;
use crate::seal::SealError;
use crate::store::StoreError;
use crate::time::UnixTime;
use core::fmt;

/// Everything an engine operation can fail with. `Display` is written for the
/// person at the prompt or the admin at the terminal, and never contains a
/// secret, a code or a phone number.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The policy is unusable.
    Policy(PolicyError),
    /// The store is unusable.
    Store(StoreError),
    /// Sealing or the seal key failed.
    Seal(SealError),
    /// No randomness.
    Random(RandomError),
    /// What was typed cannot be a code.
    Input(InputError),
    /// The user name is not acceptable.
    UserName(UserNameError),
    /// The phone number is not acceptable.
    Phone(PhoneError),
    /// The user has no active second factor to check a code against.
    NotEnrolled,
    /// A confirmation code was given but no enrollment of that factor is pending.
    NoPendingEnrollment(Factor),
    /// The confirmation code for an enrollment was wrong.
    WrongCode,
    /// SMS is disabled by policy.
    SmsDisabled,
    /// The user has no SMS number enrolled.
    SmsNotEnrolled,
    /// Too many SMS sends; try again after the given time.
    SmsRateLimited {
        /// When the next send is allowed.
        retry_after: UnixTime,
    },
    /// The delivery channel failed to send the SMS.
    SmsDeliveryFailed(String),
    /// A step-up action that the policy does not define.
    UnknownAction(String),
    /// Second-factor sign-in is locked after failures.
    Locked {
        /// Until when.
        until: UnixTime,
    },
    /// The factor to remove is the user's last, and the policy requires one.
    LastFactorRequired,
    /// A passkey could not be registered, renamed or removed, or a sign-in
    /// was not even checked.
    Passkey(PasskeyError),
    /// A login approval could not be asked for, answered or taken.
    Approval(ApprovalError),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Policy(e) => e.fmt(f),
            Error::Store(e) => e.fmt(f),
            Error::Seal(e) => e.fmt(f),
            Error::Random(e) => e.fmt(f),
            Error::Input(e) => e.fmt(f),
            Error::UserName(e) => e.fmt(f),
            Error::Phone(e) => e.fmt(f),
            Error::NotEnrolled => f.write_str("no second factor is enrolled for this user"),
            Error::NoPendingEnrollment(factor) => {
                write!(f, "no {factor} enrollment is waiting for confirmation; start again")
            }
            Error::WrongCode => f.write_str("that code is not right; check the device's clock and try the next code"),
            Error::SmsDisabled => f.write_str("SMS codes are disabled by the organisation's policy"),
            Error::SmsNotEnrolled => f.write_str("no phone number is enrolled for SMS codes"),
            Error::SmsRateLimited { retry_after } => write!(
                f,
                "too many SMS codes requested; try again after {retry_after}, or use your authenticator app or a recovery code"
            ),
            Error::SmsDeliveryFailed(reason) => write!(
                f,
                "the SMS could not be sent ({reason}); use your authenticator app or a recovery code"
            ),
            Error::UnknownAction(a) => write!(f, "step-up action {a:?} is not defined in the policy's [step_up] table"),
            Error::Locked { until } => write!(f, "too many wrong codes: locked until {until}"),
            Error::Passkey(e) => e.fmt(f),
            Error::Approval(e) => e.fmt(f),
            Error::LastFactorRequired => f.write_str(
                "two-factor authentication is required for this account: add another factor before removing the last one",
            ),
        }
    }
}

impl std::error::Error for Error {}

macro_rules! from {
    ($($t:ty => $v:ident),*) => {$(
        impl From<$t> for Error {
            fn from(e: $t) -> Self { Error::$v(e) }
        }
    )*};
}

from!(PolicyError => Policy, StoreError => Store, SealError => Seal, RandomError => Random,
      InputError => Input, UserNameError => UserName, PhoneError => Phone,
      PasskeyError => Passkey, ApprovalError => Approval);
