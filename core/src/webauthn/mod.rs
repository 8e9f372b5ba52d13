//! WebAuthn (passkeys and security keys), verified by the engine: pure, as
//! the rest of the core (no I/O; the challenge's randomness and the time are
//! the caller's), so the component verifies exactly what a host would.
//!
//! This module checks what a browser hands back after `navigator.credentials
//! .create()` (a registration: [`verify_registration`]) and `.get()` (an
//! assertion: [`verify_assertion`]) against what the relying party expects:
//! the challenge it issued, its origins and RP ID, user presence and, as the
//! policy says, user verification; the credential's COSE public key (ES256,
//! EdDSA, RS256) and the signature over the authenticator data and the
//! client data's hash; the signature counter, which must grow when it is
//! used (a counter that goes back marks a possibly cloned authenticator).
//! Every input is bounded and every refusal is a [`WebAuthnError`] variant.
//!
//! Attestation ([`attestation`]): `none`, `packed` self attestation and
//! `packed` with a vendor's certificate chain are verified, the chain
//! against the roots the policy trusts where it requires attestation; other
//! formats (`tpm`, `android-key`, …) are refused as unsupported. Relying
//! parties that ask for `attestation: "none"` (the default) always get
//! `none` from browsers.

pub mod attestation;
pub(crate) mod auth_data;
mod browser;
mod client_data;
mod cose;
mod der;
mod error;
mod limits;
mod relying_party;
mod stored;
#[cfg(test)]
mod tests;

pub use attestation::{AttestationCheck, AttestationRoots};
pub use auth_data::{AttestedCredential, AuthenticatorData, Flags};
pub use browser::{
    AssertionResponse, CreationOptions, RegistrationResponse, RequestOptions, MAX_RESPONSE_JSON,
};
pub use cose::{CoseAlgorithm, PublicKey};
pub use error::WebAuthnError;
pub use limits::{
    MAX_ATTESTATION_OBJECT, MAX_AUTHENTICATOR_DATA, MAX_CLIENT_DATA, MAX_CREDENTIAL_ID,
    MAX_SIGNATURE,
};
pub use relying_party::{RelyingParty, UserVerification};
pub use stored::{
    aaguid_text, clean_name, Ceremony, NameError, OpenChallenge, StoredPasskey, CHALLENGE_LEN,
    MAX_NAME_CHARS, MAX_OPEN_CHALLENGES, MAX_PASSKEYS, USER_HANDLE_LEN,
};

/// The challenge a client data JSON answers, unchecked: to find the issued
/// challenge it claims to answer, which [`verify_registration`] or
/// [`verify_assertion`] then checks with everything else.
pub fn claimed_challenge(client_data_json: &[u8]) -> Result<Vec<u8>, WebAuthnError> {
    client_data::challenge_of(client_data_json)
}

use ring::digest::{digest, SHA256};

/// A credential the relying party stores after a registration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credential {
    /// The credential ID (at most [`MAX_CREDENTIAL_ID`] bytes).
    pub id: Vec<u8>,
    /// Its public key, checked at registration.
    pub public_key: PublicKey,
    /// The authenticator's model (zero for authenticators that do not say).
    pub aaguid: [u8; 16],
    /// The signature counter last seen (0: the authenticator keeps none).
    pub sign_count: u32,
    /// Whether the credential may be backed up (synced passkeys).
    pub backup_eligible: bool,
}

/// What a verified registration gives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Registered {
    /// The credential to store.
    pub credential: Credential,
    /// Whether the user was verified.
    pub user_verified: bool,
    /// Whether the credential is backed up now.
    pub backed_up: bool,
    /// The attestation format (`none`, `packed`).
    pub attestation: &'static str,
    /// Whether a vendor's certificate, chained to a root the policy trusts,
    /// vouches for the model (`credential.aaguid`).
    pub certified: bool,
}

/// What a verified assertion gives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Asserted {
    /// The counter to store.
    pub sign_count: u32,
    /// Whether the user was verified.
    pub user_verified: bool,
    /// Whether the credential is backed up now.
    pub backed_up: bool,
}

/// Checks a registration: `client_data_json` and `attestation_object` as the
/// browser's `AuthenticatorAttestationResponse` has them, against the
/// challenge the relying party issued for it, and with the attestation
/// `proof` the policy asks for.
pub fn verify_registration(
    rp: &RelyingParty,
    challenge: &[u8],
    client_data_json: &[u8],
    attestation_object: &[u8],
    uv: UserVerification,
    proof: AttestationCheck<'_>,
) -> Result<Registered, WebAuthnError> {
    client_data::check(rp, client_data::CREATE, challenge, client_data_json)?;
    if attestation_object.len() > MAX_ATTESTATION_OBJECT {
        return Err(WebAuthnError::TooLarge("attestation object"));
    }
    let attestation = auth_data::attestation_object(attestation_object)?;
    let data = AuthenticatorData::parse(&attestation.auth_data)?;
    check_flags(rp, &data, uv)?;
    let attested = data
        .attested
        .as_ref()
        .ok_or(WebAuthnError::NoAttestedCredential)?;
    let client_hash = digest(&SHA256, client_data_json);
    let proven = attestation::verify(
        &attestation.format,
        &attestation.statement,
        &attestation.auth_data,
        client_hash.as_ref(),
        attested,
        proof,
    )?;
    Ok(Registered {
        credential: Credential {
            id: attested.credential_id.clone(),
            public_key: attested.public_key.clone(),
            aaguid: attested.aaguid,
            sign_count: data.sign_count,
            backup_eligible: data.flags.backup_eligible,
        },
        user_verified: data.flags.user_verified,
        backed_up: data.flags.backed_up,
        attestation: proven.format,
        certified: proven.certified,
    })
}

/// Checks an assertion of `credential`: the browser's
/// `AuthenticatorAssertionResponse` (client data, authenticator data,
/// signature), against the challenge the relying party issued for it.
pub fn verify_assertion(
    rp: &RelyingParty,
    credential: &Credential,
    challenge: &[u8],
    client_data_json: &[u8],
    authenticator_data: &[u8],
    signature: &[u8],
    uv: UserVerification,
) -> Result<Asserted, WebAuthnError> {
    client_data::check(rp, client_data::GET, challenge, client_data_json)?;
    if authenticator_data.len() > MAX_AUTHENTICATOR_DATA {
        return Err(WebAuthnError::TooLarge("authenticator data"));
    }
    if signature.len() > MAX_SIGNATURE {
        return Err(WebAuthnError::TooLarge("signature"));
    }
    let data = AuthenticatorData::parse(authenticator_data)?;
    check_flags(rp, &data, uv)?;
    if data.flags.backed_up && !credential.backup_eligible {
        return Err(WebAuthnError::Flags(
            "backed up, but registered as not backup eligible",
        ));
    }
    let client_hash = digest(&SHA256, client_data_json);
    let signed = [authenticator_data, client_hash.as_ref()].concat();
    credential
        .public_key
        .verify(&signed, signature)
        .map_err(|_| WebAuthnError::BadSignature)?;
    // A counter that does not grow: a clone of the authenticator may have
    // signed in between (0 and 0: the authenticator keeps no counter).
    if (data.sign_count != 0 || credential.sign_count != 0)
        && data.sign_count <= credential.sign_count
    {
        return Err(WebAuthnError::CounterRegressed {
            stored: credential.sign_count,
            received: data.sign_count,
        });
    }
    Ok(Asserted {
        sign_count: data.sign_count,
        user_verified: data.flags.user_verified,
        backed_up: data.flags.backed_up,
    })
}

/// The RP ID hash and the flags every ceremony checks.
fn check_flags(
    rp: &RelyingParty,
    data: &AuthenticatorData,
    uv: UserVerification,
) -> Result<(), WebAuthnError> {
    if data.rp_id_hash != digest(&SHA256, rp.id.as_bytes()).as_ref() {
        return Err(WebAuthnError::RpIdMismatch);
    }
    if !data.flags.user_present {
        return Err(WebAuthnError::UserNotPresent);
    }
    if uv == UserVerification::Required && !data.flags.user_verified {
        return Err(WebAuthnError::UserNotVerified);
    }
    if data.flags.backed_up && !data.flags.backup_eligible {
        return Err(WebAuthnError::Flags(
            "backed up without being backup eligible",
        ));
    }
    Ok(())
}
