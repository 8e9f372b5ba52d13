//! The client data JSON the browser made: the ceremony's type, the
//! challenge, the origin of the page that asked, and whether a cross-origin
//! frame asked.

use super::error::WebAuthnError;
use super::limits::MAX_CLIENT_DATA;
use super::relying_party::RelyingParty;
use data_encoding::BASE64URL_NOPAD;
use serde::Deserialize;

/// A registration's type.
pub(super) const CREATE: &str = "webauthn.create";
/// An assertion's type.
pub(super) const GET: &str = "webauthn.get";

#[derive(Deserialize)]
struct ClientData {
    #[serde(rename = "type")]
    kind: String,
    challenge: String,
    origin: String,
    #[serde(rename = "crossOrigin", default)]
    cross_origin: bool,
}

/// `json` as client data, within its bound.
fn parse(json: &[u8]) -> Result<ClientData, WebAuthnError> {
    if json.len() > MAX_CLIENT_DATA {
        return Err(WebAuthnError::TooLarge("client data"));
    }
    serde_json::from_slice(json)
        .map_err(|_| WebAuthnError::ClientData("not JSON with type, challenge and origin"))
}

/// The challenge the client data names, decoded.
fn challenge_bytes(data: &ClientData) -> Result<Vec<u8>, WebAuthnError> {
    BASE64URL_NOPAD
        .decode(data.challenge.as_bytes())
        .map_err(|_| WebAuthnError::ClientData("the challenge is not base64url"))
}

/// The challenge `json` claims, unchecked: to find which issued challenge
/// it answers (then [`check`] checks everything).
pub(super) fn challenge_of(json: &[u8]) -> Result<Vec<u8>, WebAuthnError> {
    challenge_bytes(&parse(json)?)
}

/// Checks `json` is a `kind` ceremony's client data for `challenge` from one
/// of `rp`'s origins, in a top-level page.
pub(super) fn check(
    rp: &RelyingParty,
    kind: &'static str,
    challenge: &[u8],
    json: &[u8],
) -> Result<(), WebAuthnError> {
    let data = parse(json)?;
    if data.kind != kind {
        return Err(WebAuthnError::WrongType {
            expected: kind,
            received: data.kind,
        });
    }
    let received = challenge_bytes(&data)?;
    if challenge.is_empty() || received != challenge {
        return Err(WebAuthnError::ChallengeMismatch);
    }
    if !rp.origins.contains(&data.origin) {
        // Named in the refusal, bounded: it is whatever the page claimed.
        return Err(WebAuthnError::OriginNotAllowed(
            data.origin.chars().take(200).collect(),
        ));
    }
    if data.cross_origin {
        return Err(WebAuthnError::CrossOrigin);
    }
    Ok(())
}
