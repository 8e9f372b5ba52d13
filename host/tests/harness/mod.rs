//! The conformance harness: scenario files, the inputs they name, and the
//! canonical outcome strings every door must produce (see tests/scenarios/README.md).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod native;

use planasonix_core::hotp::{totp, Algorithm};
use planasonix_core::otpauth::parse_base32;
use planasonix_host::*;
use serde::Deserialize;
use std::collections::HashMap;

#[derive(Deserialize, Debug)]
pub struct Scenario {
    pub policy: String,
    pub seed: u64,
    pub start: u64,
    pub steps: Vec<Step>,
}

#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub t: u64,
    pub op: String,
    #[serde(default)]
    pub user: String,
    #[serde(default)]
    pub groups: Vec<String>,
    #[serde(default)]
    pub amr: Vec<String>,
    pub action: Option<String>,
    pub input: Option<String>,
    pub phone: Option<String>,
    pub reason: Option<String>,
    pub fail: Option<bool>,
    pub factor: Option<String>,
    /// `passkey-options`: `register` or `sign-in`.
    pub ceremony: Option<String>,
    /// `passkey-register`, `rename-passkey`, `remove-passkey`: the passkey's name.
    pub name: Option<String>,
    /// `rename-passkey`: the new name.
    pub new_name: Option<String>,
    /// `passkey-register`, `passkey-sign-in`: the software authenticator's seed.
    pub key: Option<u8>,
    /// The origin the "browser" reports (default: the scenario policy's first).
    pub origin: Option<String>,
    /// `passkey-sign-in`: the counter to sign with (default: one more than
    /// this key's last).
    pub counter: Option<u32>,
    /// `passkey-sign-in`: whether the authenticator verifies the user (default true).
    pub uv: Option<bool>,
    /// `passkey-register`: the attestation the authenticator gives: `none`
    /// (the default), `self`, `vendor` (the test vendor's chain,
    /// core/tests/vectors/webauthn/attestation) or `vendor-leaf-only` (that
    /// chain without its intermediate).
    pub attestation: Option<String>,
    pub expect: String,
}

impl Step {
    pub fn subject(&self) -> Subject {
        Subject {
            user: self.user.clone(),
            groups: self.groups.clone(),
            amr: self.amr.clone(),
        }
    }
    /// The `factor` a `remove` step names.
    pub fn factor(&self) -> Factor {
        match self.factor.as_deref() {
            Some("totp") => Factor::Totp,
            Some("sms") => Factor::Sms,
            Some("recovery") => Factor::Recovery,
            other => panic!("remove step with factor {other:?}"),
        }
    }

    pub fn context(&self) -> Context {
        Context {
            service: "idp".into(),
            remote: Some("198.51.100.4".into()),
            action: self.action.clone(),
            session: None,
        }
    }
}

/// What an operation returned, in the WIT's terms.
pub enum Outcome {
    Decision(Decision),
    Verification(Verification),
    Enrollment(TotpEnrollment),
    Codes(Vec<String>),
    Sent(String),
    Status(UserStatus),
    Done,
    Events(Vec<AuditEvent>),
    Options(String),
    Passkey(PasskeyVerification),
}

/// One way of running the engine.
pub trait Door {
    fn call(&mut self, step: &Step, input: &[u8], now: u64) -> Result<Outcome, PluginError>;
    fn set_gateway_failing(&mut self, fail: bool);
    fn last_sms_code(&self) -> Option<String>;
}

/// What the harness remembers between steps to make inputs.
#[derive(Default)]
struct Memory {
    secrets: HashMap<String, String>,
    codes: HashMap<String, Vec<String>>,
    /// The last options per user and ceremony (`register`, `sign-in`).
    options: HashMap<(String, String), String>,
    /// The last counter each software authenticator signed with.
    counters: HashMap<u8, u32>,
}

/// The origin every scenario's pages run at, unless a step says otherwise.
pub const ORIGIN: &str = "https://login.example.com";

/// The browser's answer for a passkey step, from the software authenticator
/// the step names, to the options the door last gave for its ceremony.
fn passkey_answer(step: &Step, memory: &mut Memory) -> Vec<u8> {
    let seed = step.key.expect("a passkey step names its key");
    let mut key = planasonix_core::testing::SoftAuthenticator::new(
        seed,
        step.origin.as_deref().unwrap_or(ORIGIN),
    );
    let ceremony = if step.op == "passkey-register" {
        "register"
    } else {
        "sign-in"
    };
    let options = memory
        .options
        .get(&(step.user.clone(), ceremony.to_owned()))
        .cloned()
        .unwrap_or_default();
    if ceremony == "register" {
        key.attestation = attestation(step.attestation.as_deref().unwrap_or("none"));
        return key.register(&options).into_bytes();
    }
    let counter = step
        .counter
        .unwrap_or_else(|| memory.counters.get(&seed).copied().unwrap_or(0) + 1);
    memory.counters.insert(seed, counter);
    key.counter = counter.wrapping_sub(1);
    key.verifies_user = step.uv.unwrap_or(true);
    key.sign_in(&options).into_bytes()
}

/// The software authenticator's attestation a scenario step names.
fn attestation(name: &str) -> planasonix_core::testing::SoftAttestation {
    use planasonix_core::testing::SoftAttestation;
    const DIR: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../core/tests/vectors/webauthn/attestation/"
    );
    let read = |file: &str| std::fs::read(format!("{DIR}{file}")).expect("the test vendor's files");
    let vendor = |chain: &[&str]| SoftAttestation::Vendor {
        chain: chain.iter().map(|f| read(f)).collect(),
        key_pkcs8: read("leaf.pk8"),
    };
    match name {
        "none" => SoftAttestation::None,
        "self" => SoftAttestation::SelfSigned,
        "vendor" => vendor(&["leaf.der", "intermediate.der"]),
        "vendor-leaf-only" => vendor(&["leaf.der"]),
        other => panic!("no attestation {other:?} in the harness"),
    }
}

fn input_bytes(step: &Step, memory: &mut Memory, door: &dyn Door, now: u64) -> Vec<u8> {
    if step.op == "passkey-register" || step.op == "passkey-sign-in" {
        return passkey_answer(step, memory);
    }
    let Some(input) = step.input.as_deref() else {
        return Vec::new();
    };
    let code_at = |at: u64| {
        let secret = memory
            .secrets
            .get(&step.user)
            .expect("begin-totp came first");
        totp(Algorithm::Sha1, &parse_base32(secret).unwrap(), at, 30, 6).into_bytes()
    };
    if input == "totp" {
        code_at(now)
    } else if let Some(back) = input.strip_prefix("totp@-") {
        code_at(now - back.parse::<u64>().unwrap())
    } else if let Some(n) = input.strip_prefix("recovery:") {
        memory.codes[&step.user][n.parse::<usize>().unwrap()]
            .clone()
            .into_bytes()
    } else if input == "sms-code" {
        door.last_sms_code().expect("an SMS was sent").into_bytes()
    } else if let Some(hex) = input.strip_prefix("hex:") {
        (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect()
    } else {
        input.as_bytes().to_vec()
    }
}

fn factors(list: &[Factor]) -> String {
    list.iter()
        .map(|f| match f {
            Factor::Totp => "totp",
            Factor::Sms => "sms",
            Factor::Recovery => "recovery",
            Factor::Passkey => "passkey",
        })
        .collect::<Vec<_>>()
        .join("+")
}

/// `:passkeys=NAME+NAME` (a possibly cloned one marked `!`), or nothing.
fn passkeys(list: &[PasskeyInfo]) -> String {
    if list.is_empty() {
        return String::new();
    }
    let names: Vec<String> = list
        .iter()
        .map(|p| format!("{}{}", p.name, if p.cloned_at.is_some() { "!" } else { "" }))
        .collect();
    format!(":passkeys={}", names.join("+"))
}

fn refusal(r: PasskeyRefusal) -> &'static str {
    match r {
        PasskeyRefusal::NoChallenge => "no-challenge",
        PasskeyRefusal::UnknownCredential => "unknown-credential",
        PasskeyRefusal::UserNotVerified => "user-not-verified",
        PasskeyRefusal::PossiblyCloned => "possibly-cloned",
        PasskeyRefusal::Invalid => "invalid",
    }
}

fn opt(t: Option<u64>) -> String {
    t.map_or("none".into(), |t| t.to_string())
}

pub fn canonical(out: &Result<Outcome, PluginError>) -> String {
    let out = match out {
        Ok(o) => o,
        Err(e) => return error_tag(e),
    };
    match out {
        Outcome::Decision(d) => match d {
            Decision::NotRequired(n) => match n {
                NotRequired::OutOfScope => "not-required:out-of-scope".into(),
                NotRequired::Exempt => "not-required:exempt".into(),
                NotRequired::UpstreamMfa => "not-required:upstream-mfa".into(),
                NotRequired::Remembered(t) => format!("not-required:remembered@{t}"),
                NotRequired::RecentMfa(t) => format!("not-required:recent-mfa@{t}"),
            },
            Decision::Grace(g) => format!("grace@{}{}", g.deadline, if g.may_enroll_now { ":enroll-now" } else { "" }),
            Decision::Required(r) => match &r.step_up {
                Some(a) => format!("required:{}:step-up={a}", factors(&r.factors)),
                None => format!("required:{}", factors(&r.factors)),
            },
            Decision::Denied(d) => match d {
                Denied::EnrollmentOverdue(t) => format!("denied:enrollment-overdue@{t}"),
                Denied::LockedOut(t) => format!("denied:locked-out@{t}"),
                Denied::NoUsableFactor => "denied:no-usable-factor".into(),
                Denied::NoPhishingResistantFactor => "denied:no-phishing-resistant-factor".into(),
            },
        },
        Outcome::Verification(v) => match v {
            Verification::Accepted(a) => format!("accepted:{}:{}", factors(&[a.factor]), a.recovery_remaining),
            Verification::SmsSent(to) => format!("sms-sent:{to}"),
            Verification::Rejected(n) => format!("rejected:{n}"),
            Verification::Replayed(n) => format!("replayed:{n}"),
            Verification::RecoveryCodeSpent(n) => format!("recovery-code-spent:{n}"),
            Verification::Locked(t) => format!("locked@{t}"),
            Verification::ClockBehind(t) => format!("clock-behind@{t}"),
        },
        Outcome::Enrollment(e) => format!("enrollment:{}:{}:{}:{}", e.algorithm, e.digits, e.period, e.secret_base32),
        Outcome::Codes(c) => format!("codes:{}", c.len()),
        Outcome::Sent(to) => format!("sent:{to}"),
        Outcome::Status(s) => format!(
            "status:enrolled={}:factors={}:pending={}:recovery={}:locked={}:failures={}:enroll-by={}{}",
            s.enrolled,
            factors(&s.factors),
            factors(&s.pending),
            s.recovery_remaining,
            opt(s.locked_until),
            s.recent_failures,
            opt(s.enroll_by),
            passkeys(&s.passkeys)
        ),
        Outcome::Options(json) => {
            let v: serde_json::Value = serde_json::from_str(json).unwrap();
            let rp = v["rp"]["id"].as_str().or(v["rpId"].as_str()).unwrap_or("?");
            let listed = v["excludeCredentials"]
                .as_array()
                .or(v["allowCredentials"].as_array())
                .map_or(0, Vec::len);
            // Asked-for attestation shows; "none" (the default) does not.
            let attestation = match v["attestation"].as_str() {
                Some(a) if a != "none" => format!(":attestation={a}"),
                _ => String::new(),
            };
            format!("options:rp={rp}:credentials={listed}{attestation}")
        }
        Outcome::Passkey(v) => match v {
            PasskeyVerification::Accepted(a) => {
                format!("passkey:accepted:{}:uv={}", a.name, a.user_verified)
            }
            PasskeyVerification::Refused(r) => {
                format!("passkey:refused:{}:{}", refusal(r.reason), r.failures_left)
            }
            PasskeyVerification::Locked(t) => format!("passkey:locked@{t}"),
        },
        Outcome::Done => "ok".into(),
        Outcome::Events(events) => {
            let kinds: Vec<String> = events
                .iter()
                .map(|e| {
                    let v: serde_json::Value = serde_json::from_str(&e.detail).unwrap();
                    v["event"].as_str().unwrap().to_owned()
                })
                .collect();
            format!("events:{}", kinds.join(","))
        }
    }
}

fn error_tag(e: &PluginError) -> String {
    match e {
        PluginError::NotConfigured => "error:not-configured".into(),
        PluginError::Policy(_) => "error:policy".into(),
        PluginError::Seal(_) => "error:seal".into(),
        PluginError::Store(_) => "error:store".into(),
        PluginError::Input(_) => "error:input".into(),
        PluginError::UserName(_) => "error:user-name".into(),
        PluginError::Phone(_) => "error:phone".into(),
        PluginError::NotEnrolled => "error:not-enrolled".into(),
        PluginError::NoPendingEnrollment(_) => "error:no-pending-enrollment".into(),
        PluginError::WrongCode => "error:wrong-code".into(),
        PluginError::SmsDisabled => "error:sms-disabled".into(),
        PluginError::SmsNotEnrolled => "error:sms-not-enrolled".into(),
        PluginError::SmsRateLimited(t) => format!("error:sms-rate-limited@{t}"),
        PluginError::SmsDeliveryFailed(_) => "error:sms-delivery-failed".into(),
        PluginError::UnknownAction(_) => "error:unknown-action".into(),
        PluginError::Locked(t) => format!("error:locked@{t}"),
        PluginError::Random => "error:random".into(),
        PluginError::LastFactorRequired => "error:last-factor-required".into(),
        PluginError::Passkey(p) => format!(
            "error:passkey:{}",
            match p {
                PasskeyError::Disabled => "disabled",
                PasskeyError::Refused(_) => "refused",
                PasskeyError::NoChallenge => "no-challenge",
                PasskeyError::Name(_) => "name",
                PasskeyError::NameTaken => "name-taken",
                PasskeyError::NotFound => "not-found",
                PasskeyError::TooMany => "too-many",
                PasskeyError::ModelNotAllowed(_) => "model-not-allowed",
                PasskeyError::AlreadyRegistered => "already-registered",
            }
        ),
        PluginError::Approval(a) => format!(
            "error:approval:{}",
            match a {
                ApprovalError::NotOffered => "not-offered".into(),
                ApprovalError::TooMany => "too-many".into(),
                ApprovalError::NotFound => "not-found".into(),
                ApprovalError::TooManyCodes(t) => format!("too-many-codes@{t}"),
                ApprovalError::StaleSignIn => "stale-sign-in".into(),
                ApprovalError::NeedsPhishingResistant => "needs-phishing-resistant".into(),
            }
        ),
        PluginError::Internal(_) => "error:internal".into(),
    }
}

/// Runs a scenario through a door; returns the outcome of every step.
pub fn run(scenario: &Scenario, door: &mut dyn Door) -> Vec<String> {
    let mut memory = Memory::default();
    let mut outcomes = Vec::new();
    for step in &scenario.steps {
        let now = scenario.start + step.t;
        if step.op == "gateway" {
            door.set_gateway_failing(step.fail.unwrap_or(false));
            outcomes.push("ok".to_owned());
            continue;
        }
        let input = input_bytes(step, &mut memory, door, now);
        let out = door.call(step, &input, now);
        match &out {
            Ok(Outcome::Options(json)) => {
                let ceremony = step.ceremony.clone().unwrap_or_default();
                memory
                    .options
                    .insert((step.user.clone(), ceremony), json.clone());
            }
            Ok(Outcome::Enrollment(e)) => {
                memory
                    .secrets
                    .insert(step.user.clone(), e.secret_base32.clone());
            }
            Ok(Outcome::Codes(c)) => {
                memory.codes.insert(step.user.clone(), c.clone());
            }
            _ => {}
        }
        outcomes.push(canonical(&out));
    }
    outcomes
}

/// Whether `got` is what `expect` describes (`*` matches any rest).
pub fn matches(expect: &str, got: &str) -> bool {
    match expect.strip_suffix('*') {
        Some(prefix) => got.starts_with(prefix),
        None => expect == got,
    }
}

/// Runs an op against the component (a configured session).
pub fn call_session(
    s: &mut Session,
    step: &Step,
    input: &[u8],
    now: u64,
) -> Result<Outcome, PluginError> {
    let user = step.user.as_str();
    let answer = match step.op.as_str() {
        "decide" => s
            .decide(&step.subject(), &step.context(), now)
            .map(|r| r.map(Outcome::Decision)),
        "verify" => s
            .verify(user, input, &step.context(), now)
            .map(|r| r.map(Outcome::Verification)),
        "begin-totp" => s.begin_totp(user, now).map(|r| r.map(Outcome::Enrollment)),
        "confirm-totp" => s
            .confirm_totp(user, input, now)
            .map(|r| r.map(Outcome::Codes)),
        "begin-sms" => s
            .begin_sms(user, step.phone.as_deref().unwrap_or(""), now)
            .map(|r| r.map(Outcome::Sent)),
        "confirm-sms" => s
            .confirm_sms(user, input, now)
            .map(|r| r.map(Outcome::Codes)),
        "send-sms-code" => s
            .send_sms_code(user, &step.context(), now)
            .map(|r| r.map(Outcome::Sent)),
        "regenerate" => s
            .regenerate_recovery_codes(user, now)
            .map(|r| r.map(Outcome::Codes)),
        "status" => s.status(user, now).map(|r| r.map(Outcome::Status)),
        "reset" => s
            .admin_reset(user, step.reason.as_deref().unwrap_or(""), now)
            .map(|r| r.map(|()| Outcome::Done)),
        "unlock" => s.admin_unlock(user, now).map(|r| r.map(|()| Outcome::Done)),
        "remove" => s
            .remove_factor(&step.subject(), step.factor(), now)
            .map(|r| r.map(|()| Outcome::Done)),
        "audit" => s
            .audit_events(Some(user), None)
            .map(|r| r.map(Outcome::Events)),
        "passkey-options" => match step.ceremony.as_deref() {
            Some("register") => s.passkey_registration_options(user, "", now),
            Some("sign-in") => s.passkey_sign_in_options(user, now),
            other => panic!("passkey-options with ceremony {other:?}"),
        }
        .map(|r| r.map(Outcome::Options)),
        "passkey-register" => s
            .register_passkey(
                user,
                step.name.as_deref().unwrap_or(""),
                std::str::from_utf8(input).unwrap(),
                now,
            )
            .map(|r| r.map(Outcome::Codes)),
        "passkey-sign-in" => s
            .verify_passkey(
                user,
                std::str::from_utf8(input).unwrap(),
                &step.context(),
                now,
            )
            .map(|r| r.map(Outcome::Passkey)),
        "rename-passkey" => s
            .rename_passkey(
                user,
                step.name.as_deref().unwrap_or(""),
                step.new_name.as_deref().unwrap_or(""),
                now,
            )
            .map(|r| r.map(|()| Outcome::Done)),
        "remove-passkey" => s
            .remove_passkey(&step.subject(), step.name.as_deref().unwrap_or(""), now)
            .map(|r| r.map(|()| Outcome::Done)),
        other => panic!("unknown op {other}"),
    };
    answer.unwrap_or_else(|e| panic!("host failure at {step:?}: {e}"))
}
