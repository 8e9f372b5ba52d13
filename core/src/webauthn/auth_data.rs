//! The authenticator data (what the authenticator signs: the RP ID's hash,
//! the flags, the counter, and at registration the new credential), and the
//! attestation object that carries it at registration.

use super::cose::PublicKey;
use super::error::WebAuthnError;
use super::limits::MAX_CREDENTIAL_ID;
use ciborium::value::Value;

/// The flags byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Flags {
    /// UP: the user touched the authenticator.
    pub user_present: bool,
    /// UV: the authenticator verified the user (PIN, biometrics).
    pub user_verified: bool,
    /// BE: the credential may be backed up (a synced passkey).
    pub backup_eligible: bool,
    /// BS: the credential is backed up now.
    pub backed_up: bool,
    /// AT: an attested credential follows the counter.
    pub attested: bool,
    /// ED: extensions follow.
    pub extensions: bool,
}

/// The flag bits of the authenticator data's flags byte (WebAuthn §6.1),
/// for the parser and for the test authenticators that write them.
pub(crate) mod bits {
    /// UP: the user was present.
    pub(crate) const UP: u8 = 0x01;
    /// UV: the user was verified.
    pub(crate) const UV: u8 = 0x04;
    /// BE: backup eligible.
    pub(crate) const BE: u8 = 0x08;
    /// BS: backed up.
    pub(crate) const BS: u8 = 0x10;
    /// AT: an attested credential follows.
    pub(crate) const AT: u8 = 0x40;
    /// ED: extensions follow.
    pub(crate) const ED: u8 = 0x80;
}

impl Flags {
    fn from_byte(b: u8) -> Flags {
        Flags {
            user_present: b & bits::UP != 0,
            user_verified: b & bits::UV != 0,
            backup_eligible: b & bits::BE != 0,
            backed_up: b & bits::BS != 0,
            attested: b & bits::AT != 0,
            extensions: b & bits::ED != 0,
        }
    }
}

/// A credential the authenticator made, as the registration carries it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttestedCredential {
    /// The authenticator's model.
    pub aaguid: [u8; 16],
    /// The credential ID.
    pub credential_id: Vec<u8>,
    /// Its public key.
    pub public_key: PublicKey,
}

/// Parsed authenticator data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthenticatorData {
    /// SHA-256 of the RP ID the authenticator signed for.
    pub rp_id_hash: [u8; 32],
    /// The flags.
    pub flags: Flags,
    /// The signature counter.
    pub sign_count: u32,
    /// The new credential (registration only).
    pub attested: Option<AttestedCredential>,
}

impl AuthenticatorData {
    /// Parses `bytes`, every part of it: nothing may follow what the flags
    /// announce.
    pub fn parse(bytes: &[u8]) -> Result<AuthenticatorData, WebAuthnError> {
        let short = || WebAuthnError::AuthenticatorData("shorter than its parts");
        let mut rest = bytes;
        let rp_id_hash: [u8; 32] = take(&mut rest, 32)
            .ok_or_else(short)?
            .try_into()
            .map_err(|_| short())?;
        let flags = Flags::from_byte(take(&mut rest, 1).ok_or_else(short)?[0]);
        let count: [u8; 4] = take(&mut rest, 4)
            .ok_or_else(short)?
            .try_into()
            .map_err(|_| short())?;
        let attested = if flags.attested {
            let aaguid: [u8; 16] = take(&mut rest, 16)
                .ok_or_else(short)?
                .try_into()
                .map_err(|_| short())?;
            let length = take(&mut rest, 2).ok_or_else(short)?;
            let length = usize::from(u16::from_be_bytes([length[0], length[1]]));
            if length == 0 || length > MAX_CREDENTIAL_ID {
                return Err(WebAuthnError::AuthenticatorData(
                    "the credential ID is empty or over 1023 bytes",
                ));
            }
            let credential_id = take(&mut rest, length).ok_or_else(short)?.to_vec();
            let key = read_cbor(&mut rest)?;
            Some(AttestedCredential {
                aaguid,
                credential_id,
                public_key: PublicKey::from_cose(&key)?,
            })
        } else {
            None
        };
        if flags.extensions {
            match read_cbor(&mut rest)? {
                Value::Map(_) => {}
                _ => {
                    return Err(WebAuthnError::AuthenticatorData(
                        "the extensions are not a map",
                    ))
                }
            }
        }
        if !rest.is_empty() {
            return Err(WebAuthnError::AuthenticatorData(
                "bytes follow what the flags announce",
            ));
        }
        Ok(AuthenticatorData {
            rp_id_hash,
            flags,
            sign_count: u32::from_be_bytes(count),
            attested,
        })
    }
}

/// The first `n` bytes of `rest`, which then starts after them.
fn take<'a>(rest: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
    if rest.len() < n {
        return None;
    }
    let (head, tail) = rest.split_at(n);
    *rest = tail;
    Some(head)
}

/// One CBOR item from the front of `rest`, which then starts after it.
fn read_cbor(rest: &mut &[u8]) -> Result<Value, WebAuthnError> {
    ciborium::de::from_reader(&mut *rest)
        .map_err(|_| WebAuthnError::Cbor("an item does not decode"))
}

/// The parts of an attestation object.
pub(super) struct AttestationObject {
    pub(super) format: String,
    /// The statement's entries.
    pub(super) statement: Vec<(Value, Value)>,
    pub(super) auth_data: Vec<u8>,
}

/// Parses an attestation object: a CBOR map of `fmt` (text), `attStmt`
/// (map) and `authData` (bytes), and nothing after it.
pub(super) fn attestation_object(bytes: &[u8]) -> Result<AttestationObject, WebAuthnError> {
    let mut rest = bytes;
    let Value::Map(entries) = read_cbor(&mut rest)? else {
        return Err(WebAuthnError::Cbor("the attestation object is not a map"));
    };
    if !rest.is_empty() {
        return Err(WebAuthnError::Cbor("bytes follow the attestation object"));
    }
    let (mut format, mut statement, mut auth_data) = (None, None, None);
    for (key, value) in entries {
        match (key, value) {
            (Value::Text(k), Value::Text(v)) if k == "fmt" && format.is_none() => format = Some(v),
            (Value::Text(k), Value::Map(v)) if k == "attStmt" && statement.is_none() => {
                statement = Some(v)
            }
            (Value::Text(k), Value::Bytes(v)) if k == "authData" && auth_data.is_none() => {
                auth_data = Some(v)
            }
            _ => {
                return Err(WebAuthnError::Cbor(
                    "the attestation object holds an unknown, repeated or mistyped entry",
                ))
            }
        }
    }
    match (format, statement, auth_data) {
        (Some(format), Some(statement), Some(auth_data)) => Ok(AttestationObject {
            format,
            statement,
            auth_data,
        }),
        _ => Err(WebAuthnError::Cbor(
            "the attestation object lacks fmt, attStmt or authData",
        )),
    }
}
