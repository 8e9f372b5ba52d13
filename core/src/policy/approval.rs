//! `[approval]`: approving a terminal login (SSH, sudo) at the identity
//! provider, with number matching, instead of typing a code.

use super::de;
use super::step_up::Require;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

/// `[approval]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApprovalPolicy {
    /// Whether terminals offer it (off by default: it needs an identity
    /// provider on the same store).
    pub enabled: bool,
    /// The identity provider's approval page the terminal names, like
    /// `https://login.example.com/approve`.
    #[serde(deserialize_with = "de::page_url")]
    pub url: String,
    /// PAM services whose prompts offer it, like `["sshd", "sudo"]`.
    pub services: Vec<String>,
    /// How long a request lives (30s to 10m).
    #[serde(
        deserialize_with = "de::duration_in::<_, 30, 600>",
        serialize_with = "de::duration_text"
    )]
    pub lifetime: Duration,
    /// Pending requests one user may have at once (1 to 10).
    pub max_pending: u32,
    /// The factor the approving sign-in must have used, per service:
    /// `{ sudo = "phishing-resistant" }`; services not named take any.
    pub require: BTreeMap<String, Require>,
    /// Whether "This wasn't me" and a wrong number count toward the lockout
    /// of the address the login came from (and of the user).
    pub denial_counts: bool,
}

impl Default for ApprovalPolicy {
    fn default() -> Self {
        ApprovalPolicy {
            enabled: false,
            url: String::new(),
            services: vec!["sshd".into()],
            lifetime: Duration::from_secs(120),
            max_pending: 3,
            require: BTreeMap::new(),
            denial_counts: true,
        }
    }
}

impl ApprovalPolicy {
    /// What the approving sign-in must have used for a login to `service`.
    pub fn require_for(&self, service: &str) -> Require {
        self.require.get(service).copied().unwrap_or_default()
    }

    /// Whether `service`'s prompt may offer approval.
    pub fn offered_to(&self, service: &str) -> bool {
        self.enabled && self.services.iter().any(|s| s == service)
    }
}
