//! WIT types to and from `planasonix-core` types. No logic of its own.

use crate::bindings::exports::planasonix::mfa::engine as wit;
use planasonix_core as core_;
use planasonix_core::{Decision, Denied, Error, NotRequired, Verification};

pub(crate) fn subject(s: wit::Subject) -> core_::Subject {
    core_::Subject {
        user: s.user,
        groups: s.groups,
        amr: s.amr,
    }
}

pub(crate) fn context(c: wit::Context) -> core_::Context {
    core_::Context {
        service: c.service,
        remote: c.remote,
        action: c.action,
        session: c.session.map(session),
    }
}

pub(crate) fn session(s: wit::Session) -> core_::Session {
    core_::Session {
        mfa_at: s.mfa_at.map(core_::UnixTime),
        epoch: s.epoch,
        phishing_resistant: s.phishing_resistant,
    }
}

pub(crate) fn approval_view(v: core_::ApprovalView) -> wit::ApprovalView {
    wit::ApprovalView {
        host: v.host,
        service: v.service,
        remote: v.remote,
        created: v.created.0,
        expires: v.expires.0,
        choices: v.choices.to_vec(),
        phishing_resistant: v.require == core_::policy::Require::PhishingResistant,
    }
}

pub(crate) fn approval_answer(a: wit::ApprovalAnswer) -> core_::ApprovalAnswer {
    match a {
        wit::ApprovalAnswer::Number(n) => core_::ApprovalAnswer::Number(n),
        wit::ApprovalAnswer::NotMe => core_::ApprovalAnswer::NotMe,
    }
}

pub(crate) fn answered(a: core_::Answered) -> wit::Answered {
    match a {
        core_::Answered::Approved => wit::Answered::Approved,
        core_::Answered::WrongNumber => wit::Answered::WrongNumber,
        core_::Answered::Denied => wit::Answered::Denied,
    }
}

fn approval_error(e: core_::ApprovalError) -> wit::ApprovalError {
    use core_::ApprovalError as A;
    match e {
        A::NotOffered => wit::ApprovalError::NotOffered,
        A::TooMany => wit::ApprovalError::TooMany,
        A::NotFound => wit::ApprovalError::NotFound,
        A::TooManyCodes { until } => wit::ApprovalError::TooManyCodes(until.0),
        A::StaleSignIn => wit::ApprovalError::StaleSignIn,
        A::NeedsPhishingResistant => wit::ApprovalError::NeedsPhishingResistant,
    }
}

pub(crate) fn factor(f: core_::Factor) -> wit::Factor {
    match f {
        core_::Factor::Totp => wit::Factor::Totp,
        core_::Factor::Sms => wit::Factor::Sms,
        core_::Factor::Recovery => wit::Factor::Recovery,
        core_::Factor::Passkey => wit::Factor::Passkey,
    }
}

pub(crate) fn core_factor(f: wit::Factor) -> core_::Factor {
    match f {
        wit::Factor::Totp => core_::Factor::Totp,
        wit::Factor::Sms => core_::Factor::Sms,
        wit::Factor::Recovery => core_::Factor::Recovery,
        wit::Factor::Passkey => core_::Factor::Passkey,
    }
}

fn factors(list: Vec<core_::Factor>) -> Vec<wit::Factor> {
    list.into_iter().map(factor).collect()
}

pub(crate) fn decision(d: Decision) -> wit::Decision {
    match d {
        Decision::NotRequired(why) => wit::Decision::NotRequired(match why {
            NotRequired::OutOfScope => wit::NotRequired::OutOfScope,
            NotRequired::Exempt => wit::NotRequired::Exempt,
            NotRequired::UpstreamMfa => wit::NotRequired::UpstreamMfa,
            NotRequired::Remembered { at } => wit::NotRequired::Remembered(at.0),
            NotRequired::RecentMfa { at } => wit::NotRequired::RecentMfa(at.0),
        }),
        Decision::Grace {
            deadline,
            may_enroll_now,
        } => wit::Decision::Grace(wit::Grace {
            deadline: deadline.0,
            may_enroll_now,
        }),
        Decision::Required {
            factors: f,
            step_up,
        } => wit::Decision::Required(wit::Required {
            factors: factors(f),
            step_up,
        }),
        Decision::Denied(why) => wit::Decision::Denied(match why {
            Denied::EnrollmentOverdue { deadline } => wit::Denied::EnrollmentOverdue(deadline.0),
            Denied::LockedOut { until } => wit::Denied::LockedOut(until.0),
            Denied::NoUsableFactor => wit::Denied::NoUsableFactor,
            Denied::NoPhishingResistantFactor => wit::Denied::NoPhishingResistantFactor,
        }),
    }
}

pub(crate) fn verification(v: Verification) -> wit::Verification {
    match v {
        Verification::Accepted {
            factor: f,
            recovery_remaining,
        } => wit::Verification::Accepted(wit::Accepted {
            factor: factor(f),
            recovery_remaining,
        }),
        Verification::SmsSent { to } => wit::Verification::SmsSent(to),
        Verification::Rejected { failures_left } => wit::Verification::Rejected(failures_left),
        Verification::Replayed { failures_left } => wit::Verification::Replayed(failures_left),
        Verification::RecoveryCodeSpent { failures_left } => {
            wit::Verification::RecoveryCodeSpent(failures_left)
        }
        Verification::Locked { until } => wit::Verification::Locked(until.0),
        Verification::ClockBehind { last_accepted } => {
            wit::Verification::ClockBehind(last_accepted.0)
        }
    }
}

pub(crate) fn enrollment(e: core_::TotpEnrollment) -> wit::TotpEnrollment {
    let qr_svg = e
        .qr()
        .map(|q| q.svg().expose().to_owned())
        .unwrap_or_default();
    wit::TotpEnrollment {
        secret_base32: e.secret_base32.expose().to_owned(),
        uri: e.uri.expose().to_owned(),
        qr_svg,
        algorithm: e.params.algorithm.name().to_owned(),
        digits: e.params.digits,
        period: e.params.period as u32,
    }
}

pub(crate) fn status(s: core_::UserStatus) -> wit::UserStatus {
    wit::UserStatus {
        user: s.user,
        enrolled: s.enrolled,
        factors: factors(s.factors),
        pending: factors(s.pending),
        sms_number: s.sms_number,
        recovery_remaining: s.recovery_remaining,
        locked_until: s.locked_until.map(|t| t.0),
        recent_failures: s.recent_failures,
        enroll_by: s.enroll_by.map(|t| t.0),
        last_mfa: s.last_mfa.map(|t| t.0),
        totp_since: s.totp_since.map(|t| t.0),
        sessions_valid_after: s.sessions_valid_after.map(|t| t.0),
        sessions_epoch: s.sessions_epoch,
        remote_locks: s
            .remote_locks
            .into_iter()
            .map(|l| wit::RemoteLock {
                remote: l.remote,
                until: l.until.0,
            })
            .collect(),
        passkeys: s
            .passkeys
            .into_iter()
            .map(|p| wit::PasskeyInfo {
                name: p.name,
                aaguid: p.aaguid,
                since: p.since.0,
                last_used: p.last_used.map(|t| t.0),
                backup_eligible: p.backup_eligible,
                cloned_at: p.cloned_at.map(|t| t.0),
            })
            .collect(),
    }
}

fn refusal(r: core_::PasskeyRefusal) -> wit::PasskeyRefusal {
    use core_::PasskeyRefusal as R;
    match r {
        R::NoChallenge => wit::PasskeyRefusal::NoChallenge,
        R::UnknownCredential => wit::PasskeyRefusal::UnknownCredential,
        R::UserNotVerified => wit::PasskeyRefusal::UserNotVerified,
        R::PossiblyCloned => wit::PasskeyRefusal::PossiblyCloned,
        R::Invalid => wit::PasskeyRefusal::Invalid,
    }
}

pub(crate) fn passwordless_verification(
    v: core_::PasswordlessVerification,
) -> wit::PasswordlessVerification {
    use core_::PasswordlessVerification as V;
    match v {
        V::Accepted { user, name } => {
            wit::PasswordlessVerification::Accepted(wit::PasswordlessAccepted { user, name })
        }
        V::Refused { reason } => wit::PasswordlessVerification::Refused(refusal(reason)),
        V::Locked { until } => wit::PasswordlessVerification::Locked(until.0),
    }
}

pub(crate) fn passkey_verification(v: core_::PasskeyVerification) -> wit::PasskeyVerification {
    use core_::PasskeyVerification as V;
    match v {
        V::Accepted {
            name,
            user_verified,
        } => wit::PasskeyVerification::Accepted(wit::PasskeyAccepted {
            name,
            user_verified,
        }),
        V::Refused {
            reason,
            failures_left,
        } => wit::PasskeyVerification::Refused(wit::PasskeyRefused {
            reason: refusal(reason),
            failures_left,
        }),
        V::Locked { until } => wit::PasskeyVerification::Locked(until.0),
    }
}

fn passkey_error(e: core_::PasskeyError) -> wit::PasskeyError {
    use core_::PasskeyError as P;
    match e {
        P::Disabled => wit::PasskeyError::Disabled,
        P::Refused(why) => wit::PasskeyError::Refused(why.to_string()),
        P::NoChallenge => wit::PasskeyError::NoChallenge,
        P::Name(why) => wit::PasskeyError::Name(why.to_string()),
        P::NameTaken => wit::PasskeyError::NameTaken,
        P::NotFound => wit::PasskeyError::NotFound,
        P::TooMany => wit::PasskeyError::TooMany,
        P::ModelNotAllowed(aaguid) => wit::PasskeyError::ModelNotAllowed(aaguid),
        P::AlreadyRegistered => wit::PasskeyError::AlreadyRegistered,
    }
}

pub(crate) fn audit_event(e: core_::AuditEvent) -> wit::AuditEvent {
    let level = match e.level() {
        core_::Level::Info => "info",
        core_::Level::Notice => "notice",
        core_::Level::Warning => "warning",
        core_::Level::Error => "error",
    };
    wit::AuditEvent {
        at: e.at.0,
        user: e.user,
        service: e.service,
        remote: e.remote,
        level: level.to_owned(),
        detail: serde_json::to_string(&e.kind).unwrap_or_default(),
    }
}

pub(crate) fn err(e: Error) -> wit::Error {
    match e {
        Error::Policy(p) => wit::Error::Policy(p.to_string()),
        Error::Store(s) => wit::Error::Store(crate::imports::to_wit(s)),
        Error::Seal(s) => wit::Error::Seal(s.to_string()),
        Error::Random(_) => wit::Error::Random,
        Error::Input(i) => wit::Error::Input(i.to_string()),
        Error::UserName(u) => wit::Error::UserName(u.to_string()),
        Error::Phone(p) => wit::Error::Phone(p.to_string()),
        Error::NotEnrolled => wit::Error::NotEnrolled,
        Error::NoPendingEnrollment(f) => wit::Error::NoPendingEnrollment(factor(f)),
        Error::WrongCode => wit::Error::WrongCode,
        Error::SmsDisabled => wit::Error::SmsDisabled,
        Error::SmsNotEnrolled => wit::Error::SmsNotEnrolled,
        Error::SmsRateLimited { retry_after } => wit::Error::SmsRateLimited(retry_after.0),
        Error::SmsDeliveryFailed(reason) => wit::Error::SmsDeliveryFailed(reason),
        Error::UnknownAction(a) => wit::Error::UnknownAction(a),
        Error::Locked { until } => wit::Error::Locked(until.0),
        Error::LastFactorRequired => wit::Error::LastFactorRequired,
        Error::Passkey(p) => wit::Error::Passkey(passkey_error(p)),
        Error::Approval(a) => wit::Error::Approval(approval_error(a)),
        other => wit::Error::Internal(other.to_string()),
    }
}
