//! Who the credentials are for, and what the policy asks of the
//! authenticator.

/// Who the credentials are for: the RP ID (a domain, whose SHA-256 the
/// authenticator signs) and the exact origins pages may run at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RelyingParty {
    /// The RP ID, like `example.com`.
    pub id: String,
    /// Every origin allowed to ask, like `https://login.example.com`.
    pub origins: Vec<String>,
}

/// Whether the authenticator must verify the user (PIN, biometrics).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UserVerification {
    /// Refused without it.
    Required,
    /// Asked for, not required.
    Preferred,
    /// Not asked for.
    Discouraged,
}
