//! How large each input of a ceremony may be: bounds checked before
//! anything is parsed.

/// Largest client data JSON taken (browsers send a few hundred bytes).
pub const MAX_CLIENT_DATA: usize = 8 << 10;
/// Largest attestation object taken.
pub const MAX_ATTESTATION_OBJECT: usize = 16 << 10;
/// Largest authenticator data of an assertion taken.
pub const MAX_AUTHENTICATOR_DATA: usize = 4 << 10;
/// Largest signature taken (an RS256 signature of a 4096-bit key is 512).
pub const MAX_SIGNATURE: usize = 1 << 10;
/// Longest credential ID (WebAuthn Level 3: at most 1023 bytes).
pub const MAX_CREDENTIAL_ID: usize = 1023;
