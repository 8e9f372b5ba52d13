//! What a user's record keeps of their passkeys: each credential, and the
//! challenges issued to them and not yet answered.

use super::{Credential, PublicKey};
use crate::codec::b64;
use crate::time::UnixTime;
use serde::{Deserialize, Serialize};

/// Passkeys one user may register.
pub const MAX_PASSKEYS: usize = 16;
/// Challenges one user may have open at once; a new one drops the oldest.
pub const MAX_OPEN_CHALLENGES: usize = 4;
/// Longest passkey name, in characters.
pub const MAX_NAME_CHARS: usize = 64;
/// Bytes of a challenge (WebAuthn asks for at least 16).
pub const CHALLENGE_LEN: usize = 32;
/// Bytes of a user handle.
pub const USER_HANDLE_LEN: usize = 32;

fn is_false(b: &bool) -> bool {
    !*b
}

/// A registered passkey or security key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredPasskey {
    /// The name the user gave it, unique among theirs.
    pub name: String,
    /// The credential ID.
    #[serde(with = "b64")]
    pub id: Vec<u8>,
    /// Its public key.
    pub public_key: PublicKey,
    /// The authenticator's model (AAGUID), all zeros when it does not say.
    pub aaguid: String,
    /// The signature counter last seen.
    pub sign_count: u32,
    /// Whether it may be synced to other devices.
    #[serde(default, skip_serializing_if = "is_false")]
    pub backup_eligible: bool,
    /// Whether the authenticator verified the user when it was registered.
    #[serde(default, skip_serializing_if = "is_false")]
    pub user_verified: bool,
    /// When it was registered.
    pub since: UnixTime,
    /// Its last accepted use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used: Option<UnixTime>,
    /// When its counter went back (a clone may exist): refused from then on,
    /// until it is removed and registered again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloned_at: Option<UnixTime>,
}

impl StoredPasskey {
    /// The credential to verify an assertion against.
    pub fn credential(&self) -> Credential {
        Credential {
            id: self.id.clone(),
            public_key: self.public_key.clone(),
            aaguid: [0; 16],
            sign_count: self.sign_count,
            backup_eligible: self.backup_eligible,
        }
    }
}

/// Which ceremony a challenge was issued for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Ceremony {
    /// Registering a new passkey.
    Register,
    /// Signing in with one.
    SignIn,
    /// Signing in with one and nothing else (no user name typed).
    Passwordless,
}

/// A challenge issued and not yet answered: single use, short-lived, bound
/// to the user whose record holds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenChallenge {
    /// For which ceremony.
    pub ceremony: Ceremony,
    /// The bytes.
    #[serde(with = "b64")]
    pub challenge: Vec<u8>,
    /// When it stops being accepted.
    pub expires: UnixTime,
}

/// An AAGUID as people write it: `cb69481e-8ff7-4039-93ec-0a2729a154a8`.
pub fn aaguid_text(aaguid: &[u8; 16]) -> String {
    let hex = data_encoding::HEXLOWER.encode(aaguid);
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// Why a passkey name is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameError {
    /// Empty, or only spaces.
    Empty,
    /// Over [`MAX_NAME_CHARS`].
    TooLong,
    /// Holds a control or format character (a line break, a direction
    /// override).
    ControlCharacter,
}

impl core::fmt::Display for NameError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            NameError::Empty => "give the passkey a name, like \"YubiKey 5C\"",
            NameError::TooLong => "a passkey's name is at most 64 characters",
            NameError::ControlCharacter => "a passkey's name cannot hold control characters",
        })
    }
}

/// The name as kept: trimmed, checked.
pub fn clean_name(name: &str) -> Result<String, NameError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(NameError::Empty);
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(NameError::TooLong);
    }
    if name.chars().any(|c| {
        c.is_control() || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}')
    }) {
        return Err(NameError::ControlCharacter);
    }
    Ok(name.to_owned())
}
