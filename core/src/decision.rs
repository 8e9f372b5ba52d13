//! What a login or sensitive action requires: the inputs and the answer.

use crate::audit::Factor;
use crate::time::UnixTime;

/// Who is authenticating.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Subject {
    /// User name.
    pub user: String,
    /// Unix groups (PAM) or roles (identity provider).
    pub groups: Vec<String>,
    /// RFC 8176 authentication method references from an upstream identity provider.
    pub amr: Vec<String>,
}

/// Where and why.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Context {
    /// PAM service (`sshd`, `sudo`) or IdP application.
    pub service: String,
    /// Remote host or client address, if known.
    pub remote: Option<String>,
    /// Step-up action (`sudo`, `export-secrets`), if this is one.
    pub action: Option<String>,
    /// The caller's own session, where it keeps one (a browser session at an
    /// identity provider); `None` where there is none (a PAM login).
    pub session: Option<Session>,
}

/// What a door that keeps sessions says about the one asking.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Session {
    /// When a second factor last passed in this session, if one did. Under
    /// `step_up_scope = "session"` a step-up counts only this one.
    pub mfa_at: Option<UnixTime>,
    /// The user's `sessions_epoch` when the door last proved the session
    /// live; at the record's current count nothing ended it since (see
    /// `step_up_scope`).
    pub epoch: Option<u64>,
    /// Whether the second factor at `mfa_at` was phishing-resistant (a
    /// passkey): only such a one counts for a step-up action that requires
    /// it.
    pub phishing_resistant: bool,
}

/// Why no second factor is asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NotRequired {
    /// The policy does not cover this user (optional and not enrolled, or not an
    /// admin under `required-for-admins`). PAM answers PAM_IGNORE.
    OutOfScope,
    /// A break-glass exemption (logged at warning level).
    Exempt,
    /// The upstream identity provider already did MFA (trusted `amr`).
    UpstreamMfa,
    /// MFA passed recently for this service and remote host (`[remember]`).
    Remembered {
        /// When it passed.
        at: UnixTime,
    },
    /// The step-up action accepts the user's recent MFA.
    RecentMfa {
        /// When it passed.
        at: UnixTime,
    },
}

/// Why the login is refused before any code is asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Denied {
    /// MFA is required, the user never enrolled, and the grace period is over.
    EnrollmentOverdue {
        /// When it ended.
        deadline: UnixTime,
    },
    /// Too many failed codes.
    LockedOut {
        /// Until when.
        until: UnixTime,
    },
    /// Enrolled, but no factor is usable under the current policy (e.g. only
    /// SMS, now disabled, and no recovery codes left).
    NoUsableFactor,
    /// The step-up action requires a phishing-resistant factor (a passkey)
    /// and the user has none (or the door cannot take one).
    NoPhishingResistantFactor,
}

/// The engine's answer for a login or action.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Let the user through without a second factor.
    NotRequired(NotRequired),
    /// MFA is required but the user has not enrolled yet and is within grace.
    Grace {
        /// When MFA becomes mandatory.
        deadline: UnixTime,
        /// Whether enrollment may happen at this prompt (`enroll_at_login`).
        may_enroll_now: bool,
    },
    /// Ask for a code.
    Required {
        /// Factors the user may answer with.
        factors: Vec<Factor>,
        /// The step-up action that demands it, if any.
        step_up: Option<String>,
    },
    /// Refuse.
    Denied(Denied),
}
