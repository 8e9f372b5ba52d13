//! The native door: `planasonix-core` called directly, its answers put in the
//! WIT's terms so all doors are compared by one canonicaliser.

use super::{Door, Outcome, Step};
use planasonix_core as core_;
use planasonix_core::phone::PhoneNumber;
use planasonix_core::{Engine, MemoryStore, Policy, SealKey, SeededRandom, UnixTime};
use planasonix_host::*;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

#[derive(Default)]
struct Gateway {
    failing: AtomicBool,
    sms: Mutex<Vec<String>>,
}

impl core_::Delivery for Gateway {
    fn send_sms(&self, _: &PhoneNumber, text: &str) -> Result<(), core_::DeliveryError> {
        if self.failing.load(Ordering::SeqCst) {
            return Err(core_::DeliveryError::not_sent("gateway returned 503"));
        }
        self.sms.lock().unwrap().push(text.to_owned());
        Ok(())
    }
    fn send_notice(&self, _: &core_::Notice) -> Result<(), core_::DeliveryError> {
        Ok(())
    }
}

pub struct NativeDoor {
    policy: Policy,
    key: SealKey,
    store: MemoryStore,
    gateway: Gateway,
    rng: SeededRandom,
}

impl NativeDoor {
    pub fn new(policy: &str, key: &[u8], seed: u64) -> NativeDoor {
        NativeDoor {
            policy: Policy::from_toml(policy).unwrap(),
            key: SealKey::from_bytes(key).unwrap(),
            store: MemoryStore::new(),
            gateway: Gateway::default(),
            rng: SeededRandom::new(seed),
        }
    }
}

fn factor(f: core_::Factor) -> Factor {
    match f {
        core_::Factor::Totp => Factor::Totp,
        core_::Factor::Sms => Factor::Sms,
        core_::Factor::Recovery => Factor::Recovery,
        core_::Factor::Passkey => Factor::Passkey,
    }
}

fn factors(list: Vec<core_::Factor>) -> Vec<Factor> {
    list.into_iter().map(factor).collect()
}

fn decision(d: core_::Decision) -> Decision {
    use core_::{Denied as D, NotRequired as N};
    match d {
        core_::Decision::NotRequired(n) => Decision::NotRequired(match n {
            N::OutOfScope => NotRequired::OutOfScope,
            N::Exempt => NotRequired::Exempt,
            N::UpstreamMfa => NotRequired::UpstreamMfa,
            N::Remembered { at } => NotRequired::Remembered(at.0),
            N::RecentMfa { at } => NotRequired::RecentMfa(at.0),
        }),
        core_::Decision::Grace {
            deadline,
            may_enroll_now,
        } => Decision::Grace(Grace {
            deadline: deadline.0,
            may_enroll_now,
        }),
        core_::Decision::Required {
            factors: f,
            step_up,
        } => Decision::Required(Required {
            factors: factors(f),
            step_up,
        }),
        core_::Decision::Denied(d) => Decision::Denied(match d {
            D::EnrollmentOverdue { deadline } => Denied::EnrollmentOverdue(deadline.0),
            D::LockedOut { until } => Denied::LockedOut(until.0),
            D::NoUsableFactor => Denied::NoUsableFactor,
            D::NoPhishingResistantFactor => Denied::NoPhishingResistantFactor,
        }),
    }
}

fn verification(v: core_::Verification) -> Verification {
    match v {
        core_::Verification::Accepted {
            factor: f,
            recovery_remaining,
        } => Verification::Accepted(Accepted {
            factor: factor(f),
            recovery_remaining,
        }),
        core_::Verification::SmsSent { to } => Verification::SmsSent(to),
        core_::Verification::Rejected { failures_left } => Verification::Rejected(failures_left),
        core_::Verification::Replayed { failures_left } => Verification::Replayed(failures_left),
        core_::Verification::RecoveryCodeSpent { failures_left } => {
            Verification::RecoveryCodeSpent(failures_left)
        }
        core_::Verification::Locked { until } => Verification::Locked(until.0),
        core_::Verification::ClockBehind { last_accepted } => {
            Verification::ClockBehind(last_accepted.0)
        }
    }
}

fn error(e: core_::Error) -> PluginError {
    use core_::Error as E;
    match e {
        E::Policy(p) => PluginError::Policy(p.to_string()),
        E::Store(s) => PluginError::Store(store_error_to_wit(s)),
        E::Seal(s) => PluginError::Seal(s.to_string()),
        E::Random(_) => PluginError::Random,
        E::Input(i) => PluginError::Input(i.to_string()),
        E::UserName(u) => PluginError::UserName(u.to_string()),
        E::Phone(p) => PluginError::Phone(p.to_string()),
        E::NotEnrolled => PluginError::NotEnrolled,
        E::NoPendingEnrollment(f) => PluginError::NoPendingEnrollment(factor(f)),
        E::WrongCode => PluginError::WrongCode,
        E::SmsDisabled => PluginError::SmsDisabled,
        E::SmsNotEnrolled => PluginError::SmsNotEnrolled,
        E::SmsRateLimited { retry_after } => PluginError::SmsRateLimited(retry_after.0),
        E::SmsDeliveryFailed(r) => PluginError::SmsDeliveryFailed(r),
        E::UnknownAction(a) => PluginError::UnknownAction(a),
        E::Locked { until } => PluginError::Locked(until.0),
        E::LastFactorRequired => PluginError::LastFactorRequired,
        E::Passkey(p) => PluginError::Passkey(passkey_error(p)),
        E::Approval(a) => PluginError::Approval(approval_error(a)),
        other => PluginError::Internal(other.to_string()),
    }
}

fn approval_error(e: core_::ApprovalError) -> planasonix_host::ApprovalError {
    use core_::ApprovalError as A;
    use planasonix_host::ApprovalError as W;
    match e {
        A::NotOffered => W::NotOffered,
        A::TooMany => W::TooMany,
        A::NotFound => W::NotFound,
        A::TooManyCodes { until } => W::TooManyCodes(until.0),
        A::StaleSignIn => W::StaleSignIn,
        A::NeedsPhishingResistant => W::NeedsPhishingResistant,
    }
}

fn passkey_error(e: core_::PasskeyError) -> planasonix_host::PasskeyError {
    use core_::PasskeyError as P;
    use planasonix_host::PasskeyError as W;
    match e {
        P::Disabled => W::Disabled,
        P::Refused(why) => W::Refused(why.to_string()),
        P::NoChallenge => W::NoChallenge,
        P::Name(why) => W::Name(why.to_string()),
        P::NameTaken => W::NameTaken,
        P::NotFound => W::NotFound,
        P::TooMany => W::TooMany,
        P::ModelNotAllowed(a) => W::ModelNotAllowed(a),
        P::AlreadyRegistered => W::AlreadyRegistered,
    }
}

fn passkey_verification(v: core_::PasskeyVerification) -> PasskeyVerification {
    use core_::{PasskeyRefusal as R, PasskeyVerification as V};
    match v {
        V::Accepted {
            name,
            user_verified,
        } => PasskeyVerification::Accepted(planasonix_host::PasskeyAccepted {
            name,
            user_verified,
        }),
        V::Refused {
            reason,
            failures_left,
        } => PasskeyVerification::Refused(planasonix_host::PasskeyRefused {
            reason: match reason {
                R::NoChallenge => PasskeyRefusal::NoChallenge,
                R::UnknownCredential => PasskeyRefusal::UnknownCredential,
                R::UserNotVerified => PasskeyRefusal::UserNotVerified,
                R::PossiblyCloned => PasskeyRefusal::PossiblyCloned,
                R::Invalid => PasskeyRefusal::Invalid,
            },
            failures_left,
        }),
        V::Locked { until } => PasskeyVerification::Locked(until.0),
    }
}

fn codes(list: Vec<core_::SecretString>) -> Vec<String> {
    list.into_iter().map(|c| c.expose().to_owned()).collect()
}

impl Door for NativeDoor {
    fn call(&mut self, step: &Step, input: &[u8], now: u64) -> Result<Outcome, PluginError> {
        let engine = Engine::new(&self.policy, &self.key, &self.store).with_delivery(&self.gateway);
        let (user, at, rng) = (step.user.as_str(), UnixTime(now), &mut self.rng);
        let subject = || core_::Subject {
            user: step.user.clone(),
            groups: step.groups.clone(),
            amr: step.amr.clone(),
        };
        let ctx = || core_::Context {
            service: "idp".into(),
            remote: Some("198.51.100.4".into()),
            action: step.action.clone(),
            session: None,
        };
        let out = match step.op.as_str() {
            "decide" => engine
                .decide(&subject(), &ctx(), at)
                .map(|d| Outcome::Decision(decision(d))),
            "verify" => engine
                .verify(user, input, &ctx(), at, rng)
                .map(|v| Outcome::Verification(verification(v))),
            "begin-totp" => engine.begin_totp(user, at, rng).map(|e| {
                Outcome::Enrollment(TotpEnrollment {
                    secret_base32: e.secret_base32.expose().to_owned(),
                    uri: e.uri.expose().to_owned(),
                    qr_svg: String::new(),
                    algorithm: e.params.algorithm.name().to_owned(),
                    digits: e.params.digits,
                    period: e.params.period as u32,
                })
            }),
            "confirm-totp" => engine
                .confirm_totp(user, input, at, rng)
                .map(|d| Outcome::Codes(codes(d.recovery_codes))),
            "begin-sms" => engine
                .begin_sms(user, step.phone.as_deref().unwrap_or(""), at, rng)
                .map(Outcome::Sent),
            "confirm-sms" => engine
                .confirm_sms(user, input, at, rng)
                .map(|c| Outcome::Codes(codes(c))),
            "send-sms-code" => engine
                .send_login_sms(user, &ctx(), at, rng)
                .map(Outcome::Sent),
            "regenerate" => engine
                .regenerate_recovery(user, at, rng)
                .map(|c| Outcome::Codes(codes(c))),
            "status" => engine.status(user, at).map(|s| {
                Outcome::Status(UserStatus {
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
                        .map(|l| RemoteLock {
                            remote: l.remote,
                            until: l.until.0,
                        })
                        .collect(),
                    passkeys: s
                        .passkeys
                        .into_iter()
                        .map(|p| planasonix_host::PasskeyInfo {
                            name: p.name,
                            aaguid: p.aaguid,
                            since: p.since.0,
                            last_used: p.last_used.map(|t| t.0),
                            backup_eligible: p.backup_eligible,
                            cloned_at: p.cloned_at.map(|t| t.0),
                        })
                        .collect(),
                })
            }),
            "reset" => engine
                .admin_reset(user, step.reason.as_deref().unwrap_or(""), at)
                .map(|()| Outcome::Done),
            "unlock" => engine.admin_unlock(user, at).map(|()| Outcome::Done),
            "remove" => engine
                .remove_factor(
                    &subject(),
                    match step.factor() {
                        Factor::Totp => core_::Factor::Totp,
                        Factor::Sms => core_::Factor::Sms,
                        Factor::Recovery => core_::Factor::Recovery,
                        Factor::Passkey => core_::Factor::Passkey,
                    },
                    at,
                )
                .map(|()| Outcome::Done),
            "audit" => engine.audit_log(Some(user), None).map(|events| {
                Outcome::Events(
                    events
                        .into_iter()
                        .map(|e| AuditEvent {
                            at: e.at.0,
                            user: e.user.clone(),
                            service: e.service.clone(),
                            remote: e.remote.clone(),
                            level: format!("{:?}", e.level()).to_lowercase(),
                            detail: serde_json::to_string(&e.kind).unwrap(),
                        })
                        .collect(),
                )
            }),
            "passkey-options" => match step.ceremony.as_deref() {
                Some("register") => engine.passkey_registration_options(user, "", at, rng),
                Some("sign-in") => engine.passkey_sign_in_options(user, at, rng),
                other => panic!("passkey-options with ceremony {other:?}"),
            }
            .map(Outcome::Options),
            "passkey-register" => engine
                .register_passkey(user, step.name.as_deref().unwrap_or(""), input, at, rng)
                .map(|c| Outcome::Codes(codes(c))),
            "passkey-sign-in" => engine
                .verify_passkey(user, input, &ctx(), at)
                .map(|v| Outcome::Passkey(passkey_verification(v))),
            "rename-passkey" => engine
                .rename_passkey(
                    user,
                    step.name.as_deref().unwrap_or(""),
                    step.new_name.as_deref().unwrap_or(""),
                    at,
                )
                .map(|()| Outcome::Done),
            "remove-passkey" => engine
                .remove_passkey(&subject(), step.name.as_deref().unwrap_or(""), at)
                .map(|()| Outcome::Done),
            other => panic!("unknown op {other}"),
        };
        out.map_err(error)
    }

    fn set_gateway_failing(&mut self, fail: bool) {
        self.gateway.failing.store(fail, Ordering::SeqCst);
    }

    fn last_sms_code(&self) -> Option<String> {
        let sms = self.gateway.sms.lock().unwrap();
        sms.last()?
            .split(|c: char| !c.is_ascii_digit())
            .find(|w| w.len() >= 6)
            .map(str::to_owned)
    }
}
