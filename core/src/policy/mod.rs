//! Organisation policy: one TOML format for every door.
//!
//! Every key is optional and has the default documented in
//! [`DEFAULT_POLICY_TOML`] (also installed as `/etc/planasonix/policy.toml`). An
//! unknown key, a wrong type or an out-of-range value is an error that names the
//! line and the key; nothing is ever silently defaulted.

mod approval;
mod de;
mod error;
mod step_up;

pub use approval::ApprovalPolicy;
pub use error::PolicyError;
pub use step_up::{Require, StepUp};

use crate::hotp::Algorithm;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

/// The documented default policy; parsing it yields [`Policy::default`].
pub const DEFAULT_POLICY_TOML: &str = include_str!("default.toml");

/// Who must use a second factor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// Users who enrolled are asked; others are not.
    #[default]
    Optional,
    /// Members of `admin_groups` must use MFA; others as under `optional`.
    RequiredForAdmins,
    /// Everyone must use MFA.
    RequiredForAll,
}

/// `[enforcement]`: who is asked, and the rollout grace period.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Enforcement {
    /// Enforcement mode.
    pub mode: Mode,
    /// Groups (Unix) or roles (identity provider) whose members are admins.
    #[serde(deserialize_with = "de::names")]
    pub admin_groups: Vec<String>,
    /// How long a user who must use MFA may log in without it, from first seen.
    #[serde(
        deserialize_with = "de::duration_in::<_, 0, 31_622_400>",
        serialize_with = "de::duration_text"
    )]
    pub grace_period: Duration,
    /// Offer TOTP enrollment at the login prompt during the grace period.
    pub enroll_at_login: bool,
    /// Break-glass accounts never asked; every use is logged at warning level.
    #[serde(deserialize_with = "de::names")]
    pub exempt_users: Vec<String>,
    /// Upstream RFC 8176 `amr` values that count as MFA already done.
    #[serde(deserialize_with = "de::names")]
    pub trusted_amr: Vec<String>,
    /// Which passed second factor a step-up action counts.
    pub step_up_scope: StepUpScope,
}

/// Which passed second factor a step-up action counts (`step_up_scope`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum StepUpScope {
    /// Only one passed in the same session: the same browser session at the
    /// identity provider (which says when its session's factor passed), the
    /// same host for PAM. A code typed in another browser, or over SSH on
    /// another host, then never satisfies this one's step-up.
    #[default]
    Session,
    /// Any second factor the user passed anywhere in the fleet, within the
    /// action's age.
    Fleet,
}

impl Default for Enforcement {
    fn default() -> Self {
        Enforcement {
            mode: Mode::Optional,
            admin_groups: vec!["sudo".into(), "wheel".into(), "admin".into()],
            grace_period: Duration::from_secs(14 * 86_400),
            enroll_at_login: false,
            exempt_users: Vec::new(),
            // `otp` or `hwk` alone can be a single factor (RFC 8176).
            trusted_amr: vec!["mfa".into()],
            step_up_scope: StepUpScope::Session,
        }
    }
}

/// `[totp]`: authenticator-app parameters for new enrollments.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TotpPolicy {
    /// `SHA1` (every app), `SHA256` or `SHA512`.
    pub algorithm: Algorithm,
    /// 6 or 8.
    #[serde(deserialize_with = "de::digits")]
    pub digits: u32,
    /// `"30s"` or `"60s"`.
    #[serde(deserialize_with = "de::period", serialize_with = "de::duration_text")]
    pub period: Duration,
    /// Steps accepted either side of now, for clock drift (0 to 5).
    #[serde(deserialize_with = "de::int_in::<_, 0, 5>")]
    pub skew: u32,
    /// Name shown in the authenticator app.
    #[serde(deserialize_with = "de::issuer")]
    pub issuer: String,
}

impl Default for TotpPolicy {
    fn default() -> Self {
        TotpPolicy {
            algorithm: Algorithm::Sha1,
            digits: 6,
            period: Duration::from_secs(30),
            skew: 1,
            issuer: "Planasonix".into(),
        }
    }
}

/// `[sms]`: opt-in text-message codes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SmsPolicy {
    /// Whether users may enroll a phone and ask for codes.
    pub enabled: bool,
    /// Country prefixes numbers may have, e.g. `["+44", "+1"]` (toll fraud).
    #[serde(deserialize_with = "de::prefixes")]
    pub allowed_prefixes: Vec<String>,
    /// Digits in an SMS code (6 to 10).
    #[serde(deserialize_with = "de::int_in::<_, 6, 10>")]
    pub code_length: u32,
    /// How long a sent code stays valid (30s to 1h).
    #[serde(
        deserialize_with = "de::duration_in::<_, 30, 3600>",
        serialize_with = "de::duration_text"
    )]
    pub code_lifetime: Duration,
    /// Codes sent to one user per rolling hour (1 to 60).
    #[serde(deserialize_with = "de::int_in::<_, 1, 60>")]
    pub max_sends_per_hour: u32,
    /// Minimum time between two sends (0s to 1h).
    #[serde(
        deserialize_with = "de::duration_in::<_, 0, 3600>",
        serialize_with = "de::duration_text"
    )]
    pub resend_interval: Duration,
    /// Wrong entries before a sent code is void (1 to 10).
    #[serde(deserialize_with = "de::int_in::<_, 1, 10>")]
    pub max_attempts: u32,
    /// The text: `{code}` (required), `{expires}` (how long it lasts),
    /// `{issuer}` (`[totp] issuer`); one line, at most 200 characters.
    #[serde(deserialize_with = "de::sms_text")]
    pub text: String,
    /// A site the code is bound to (RFC-style origin-bound one-time codes,
    /// as WebOTP reads them): when set, the text ends with a line
    /// `@ORIGIN #CODE` that phones use to offer the code only on that site.
    /// `""`: none.
    #[serde(deserialize_with = "de::origin")]
    pub origin: String,
}

/// The SMS text unless the policy says otherwise.
pub const DEFAULT_SMS_TEXT: &str =
    "{issuer} verification code: {code}. It expires in {expires}. Never share it.";

impl Default for SmsPolicy {
    fn default() -> Self {
        SmsPolicy {
            enabled: false,
            allowed_prefixes: Vec::new(),
            code_length: 6,
            code_lifetime: Duration::from_secs(300),
            max_sends_per_hour: 5,
            resend_interval: Duration::from_secs(30),
            max_attempts: 3,
            text: DEFAULT_SMS_TEXT.into(),
            origin: String::new(),
        }
    }
}

/// `[recovery]`: single-use recovery codes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RecoveryPolicy {
    /// Codes in a set (1 to 50).
    #[serde(deserialize_with = "de::int_in::<_, 1, 50>")]
    pub codes: u32,
}

impl Default for RecoveryPolicy {
    fn default() -> Self {
        RecoveryPolicy { codes: 10 }
    }
}

/// `[lockout]`: failed codes before a temporary lock, per remote host and per user.
///
/// Failures are counted per (user, remote host) — logins without a remote host
/// count as one more — and, separately, for the user over all remote hosts.
/// `max_failures` from one remote within `window` lock that remote out for the
/// user; `max_failures_all_remotes` from all of them together lock the user
/// everywhere. So a stranger guessing from one address cannot lock the real
/// user out elsewhere, and spreading guesses over many addresses buys no more
/// guesses than `max_failures_all_remotes` per lock.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LockoutPolicy {
    /// Failures from one remote within `window` that lock that remote out for
    /// the user (1 to 1000).
    #[serde(deserialize_with = "de::int_in::<_, 1, 1000>")]
    pub max_failures: u32,
    /// Failures from all remotes together within `window` that lock the user
    /// everywhere (1 to 1000). Below `max_failures`, it is the only limit that
    /// ever applies.
    #[serde(deserialize_with = "de::int_in::<_, 1, 1000>")]
    pub max_failures_all_remotes: u32,
    /// Rolling window failures are counted in (1s to 1d).
    #[serde(
        deserialize_with = "de::duration_in::<_, 1, 86_400>",
        serialize_with = "de::duration_text"
    )]
    pub window: Duration,
    /// How long a lock lasts (1s to 30d).
    #[serde(
        deserialize_with = "de::duration_in::<_, 1, 2_592_000>",
        serialize_with = "de::duration_text"
    )]
    pub duration: Duration,
}

impl Default for LockoutPolicy {
    fn default() -> Self {
        LockoutPolicy {
            max_failures: 5,
            max_failures_all_remotes: 20,
            window: Duration::from_secs(900),
            duration: Duration::from_secs(900),
        }
    }
}

/// `[remember]`: skip MFA again for the same user, remote host and service.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RememberPolicy {
    /// How long a passed MFA is remembered (`"0s"`, the default, turns it off; up to 30d).
    #[serde(
        deserialize_with = "de::duration_in::<_, 0, 2_592_000>",
        serialize_with = "de::duration_text"
    )]
    pub window: Duration,
}

impl Default for RememberPolicy {
    fn default() -> Self {
        RememberPolicy {
            window: Duration::ZERO,
        }
    }
}

/// `[passkeys]`: WebAuthn passkeys and security keys.
///
/// Off unless enabled; enabling needs the relying party: `rp_id` (the domain
/// passkeys are bound to) and the exact `origins` of the pages that ask.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PasskeyPolicy {
    /// Whether users may register passkeys and sign in with them.
    pub enabled: bool,
    /// The RP ID: a domain in lower case, like `example.com`.
    #[serde(deserialize_with = "de::origin")]
    pub rp_id: String,
    /// Origins whose pages may ask, like `https://login.example.com`: each
    /// `https://` (or `http://localhost`), on `rp_id` or a subdomain of it.
    #[serde(deserialize_with = "de::web_origins")]
    pub origins: Vec<String>,
    /// Whether the authenticator must verify the user (PIN, biometrics).
    pub user_verification: UserVerificationPolicy,
    /// Whether a passkey alone is a whole sign-in (no password; the
    /// authenticator must verify the person: PIN or biometrics).
    pub passwordless: bool,
    /// How long a ceremony may take, and its challenge live (30s to 10m).
    #[serde(
        deserialize_with = "de::duration_in::<_, 30, 600>",
        serialize_with = "de::duration_text"
    )]
    pub timeout: Duration,
    /// Authenticator models (AAGUIDs, like
    /// `cb69481e-8ff7-4039-93ec-0a2729a154a8`) that may be registered;
    /// empty: any.
    #[serde(deserialize_with = "de::aaguids")]
    pub allowed_aaguids: Vec<String>,
    /// Whether a registration must carry a vendor's attestation that
    /// chains to `attestation_roots` (which then proves the model the
    /// allow-list checks).
    pub attestation: AttestationPolicy,
    /// The vendors' attestation roots, as PEM certificates.
    #[serde(deserialize_with = "de::attestation_roots")]
    pub attestation_roots: String,
}

impl Default for PasskeyPolicy {
    fn default() -> Self {
        PasskeyPolicy {
            enabled: false,
            rp_id: String::new(),
            origins: Vec::new(),
            user_verification: UserVerificationPolicy::Preferred,
            passwordless: false,
            timeout: Duration::from_secs(120),
            allowed_aaguids: Vec::new(),
            attestation: AttestationPolicy::None,
            attestation_roots: String::new(),
        }
    }
}

/// `[passkeys] attestation`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum AttestationPolicy {
    /// None asked for (browsers then give none); any authenticator
    /// registers.
    #[default]
    None,
    /// Asked for, and a registration without a vendor's certificate chain
    /// to one of `attestation_roots` is refused.
    Required,
}

/// `[passkeys] user_verification`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum UserVerificationPolicy {
    /// Refused unless the authenticator verified the user.
    Required,
    /// Asked for; a touch alone is accepted.
    #[default]
    Preferred,
    /// Not asked for (a touch).
    Discouraged,
}

/// `[reset]`: what an admin reset opens.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ResetPolicy {
    /// Enrollment window after `planasonix admin reset` (0s to 90d).
    #[serde(
        deserialize_with = "de::duration_in::<_, 0, 7_776_000>",
        serialize_with = "de::duration_text"
    )]
    pub grace: Duration,
}

impl Default for ResetPolicy {
    fn default() -> Self {
        ResetPolicy {
            grace: Duration::from_secs(3 * 86_400),
        }
    }
}

/// `[audit]`: the bounded audit log kept in the store.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuditPolicy {
    /// Events kept per user; older ones drop off (10 to 10000).
    #[serde(deserialize_with = "de::int_in::<_, 10, 10_000>")]
    pub keep_per_user: u32,
}

impl Default for AuditPolicy {
    fn default() -> Self {
        AuditPolicy { keep_per_user: 100 }
    }
}

/// Step-up actions every policy has, with the age they take when the
/// policy's `[step_up]` table does not name them: `admin` guards the
/// identity provider's administration page, `manage-mfa` the changes on its
/// Security page (adding, replacing or removing a factor, new recovery
/// codes), `approve-login` the approval of a terminal login there (how
/// recent the approving sign-in's second factor must be).
pub const BUILTIN_STEP_UP: [(&str, Duration); 3] = [
    ("admin", Duration::from_secs(15 * 60)),
    ("approve-login", Duration::from_secs(5 * 60)),
    ("manage-mfa", Duration::from_secs(15 * 60)),
];

fn builtin_step_up() -> BTreeMap<String, StepUp> {
    BUILTIN_STEP_UP
        .iter()
        .map(|(name, age)| ((*name).to_owned(), StepUp::any(*age)))
        .collect()
}

/// A whole policy, validated.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Policy {
    /// Who is asked.
    pub enforcement: Enforcement,
    /// Authenticator apps.
    pub totp: TotpPolicy,
    /// Text messages.
    pub sms: SmsPolicy,
    /// Recovery codes.
    pub recovery: RecoveryPolicy,
    /// Lockout.
    pub lockout: LockoutPolicy,
    /// Remembered MFA.
    pub remember: RememberPolicy,
    /// Step-up actions and the oldest MFA each accepts, e.g. `sudo = "5m"`,
    /// and which kind (`{ max_age = "5m", require = "phishing-resistant" }`).
    pub step_up: BTreeMap<String, StepUp>,
    /// Admin reset.
    pub reset: ResetPolicy,
    /// Audit log.
    pub audit: AuditPolicy,
    /// Passkeys and security keys.
    pub passkeys: PasskeyPolicy,
    /// Terminal logins approved at the identity provider.
    pub approval: ApprovalPolicy,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            enforcement: Enforcement::default(),
            totp: TotpPolicy::default(),
            sms: SmsPolicy::default(),
            recovery: RecoveryPolicy::default(),
            lockout: LockoutPolicy::default(),
            remember: RememberPolicy::default(),
            step_up: builtin_step_up(),
            reset: ResetPolicy::default(),
            audit: AuditPolicy::default(),
            passkeys: PasskeyPolicy::default(),
            approval: ApprovalPolicy::default(),
        }
    }
}

impl Policy {
    /// Parses and validates policy text. The built-in step-up actions
    /// ([`BUILTIN_STEP_UP`]) the text does not name get their default age.
    pub fn from_toml(text: &str) -> Result<Policy, PolicyError> {
        let mut policy: Policy =
            toml::from_str(text).map_err(|e| PolicyError::at_span(text, e.span(), e.message()))?;
        policy.check(text)?;
        for (name, age) in builtin_step_up() {
            policy.step_up.entry(name).or_insert(age);
        }
        Ok(policy)
    }

    /// Rules that span several keys.
    fn check(&self, text: &str) -> Result<(), PolicyError> {
        if self.sms.enabled && self.sms.allowed_prefixes.is_empty() {
            return Err(PolicyError::at_key(
                text,
                "sms",
                "allowed_prefixes",
                "SMS is enabled but no country prefix is allowed; list them, e.g. [\"+44\"]".into(),
            ));
        }
        if self.enforcement.mode == Mode::RequiredForAdmins
            && self.enforcement.admin_groups.is_empty()
        {
            return Err(PolicyError::at_key(
                text,
                "enforcement",
                "admin_groups",
                "mode is required-for-admins but no admin group is listed".into(),
            ));
        }
        let passkeys = &self.passkeys;
        if passkeys.enabled && (passkeys.rp_id.is_empty() || passkeys.origins.is_empty()) {
            return Err(PolicyError::at_key(
                text,
                "passkeys",
                if passkeys.rp_id.is_empty() { "rp_id" } else { "origins" },
                "passkeys are enabled but the relying party is not set: give rp_id (like \"example.com\") and origins (like [\"https://login.example.com\"])".into(),
            ));
        }
        if passkeys.attestation == AttestationPolicy::Required
            && passkeys.attestation_roots.trim().is_empty()
        {
            return Err(PolicyError::at_key(
                text,
                "passkeys",
                "attestation",
                "attestation is required but attestation_roots lists no vendor's root certificate"
                    .into(),
            ));
        }
        for origin in &passkeys.origins {
            let host = origin
                .split_once("://")
                .map(|(_, rest)| rest.split(':').next().unwrap_or(rest))
                .unwrap_or_default();
            let on_rp = host == passkeys.rp_id
                || host
                    .strip_suffix(passkeys.rp_id.as_str())
                    .is_some_and(|sub| sub.ends_with('.'));
            if !on_rp {
                return Err(PolicyError::at_key(
                    text,
                    "passkeys",
                    "origins",
                    format!(
                        "{origin:?} is not on rp_id {:?} or a subdomain of it: browsers refuse such a page passkeys",
                        passkeys.rp_id
                    ),
                ));
            }
        }
        let approval = &self.approval;
        if approval.enabled && approval.url.is_empty() {
            return Err(PolicyError::at_key(
                text,
                "approval",
                "url",
                "approval is enabled but url does not name the identity provider's approval page (like \"https://login.example.com/approve\")".into(),
            ));
        }
        if approval.enabled && approval.services.is_empty() {
            return Err(PolicyError::at_key(
                text,
                "approval",
                "services",
                "approval is enabled but no PAM service offers it; list them, e.g. [\"sshd\"]"
                    .into(),
            ));
        }
        if !(1..=10).contains(&approval.max_pending) {
            return Err(PolicyError::at_key(
                text,
                "approval",
                "max_pending",
                "must be between 1 and 10".into(),
            ));
        }
        if let Some(service) = approval
            .require
            .keys()
            .find(|s| !approval.services.contains(s))
        {
            return Err(PolicyError::at_key(
                text,
                "approval",
                "require",
                format!("{service:?} is not one of the services that offer approval"),
            ));
        }
        for action in self.step_up.keys() {
            let ok = !action.is_empty()
                && action.len() <= 64
                && action.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_'
                });
            if !ok {
                return Err(PolicyError::at_key(
                    text,
                    "step_up",
                    action,
                    "action names are 1 to 64 of a-z, 0-9, '-' and '_'".into(),
                ));
            }
        }
        Ok(())
    }

    /// The effective policy as TOML (every key, defaults filled in).
    pub fn to_toml(&self) -> String {
        toml::to_string(self).unwrap_or_else(|e| format!("# cannot render policy: {e}\n"))
    }

    /// Whether `groups` (Unix groups or IdP roles) make the user an admin.
    pub fn is_admin(&self, groups: &[String]) -> bool {
        groups
            .iter()
            .any(|g| self.enforcement.admin_groups.iter().any(|a| a == g))
    }

    /// Whether `user` is a break-glass exemption.
    pub fn is_exempt(&self, user: &str) -> bool {
        self.enforcement.exempt_users.iter().any(|u| u == user)
    }
}

#[cfg(test)]
mod tests;
