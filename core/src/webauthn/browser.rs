//! What crosses to and from the browser: the options `navigator.credentials
//! .create()` and `.get()` take, as the JSON of WebAuthn Level 3's
//! `PublicKeyCredential.parseCreationOptionsFromJSON` /
//! `parseRequestOptionsFromJSON`, and the credential the browser hands back,
//! as `PublicKeyCredential.toJSON()` makes it (binary fields in base64url).

use super::error::WebAuthnError;
use super::limits::{
    MAX_ATTESTATION_OBJECT, MAX_AUTHENTICATOR_DATA, MAX_CLIENT_DATA, MAX_CREDENTIAL_ID,
    MAX_SIGNATURE,
};
use super::relying_party::UserVerification;
use super::CoseAlgorithm;
use data_encoding::BASE64URL_NOPAD;
use serde::Deserialize;
use serde_json::{json, Value};

/// Largest browser response taken: its parts at their bounds, in base64url,
/// with room for the names and the extension results.
pub const MAX_RESPONSE_JSON: usize = 64 << 10;

/// The algorithms offered at registration, in order of preference.
const ALGORITHMS: [CoseAlgorithm; 3] = [
    CoseAlgorithm::EdDsa,
    CoseAlgorithm::Es256,
    CoseAlgorithm::Rs256,
];

fn b64(bytes: &[u8]) -> String {
    BASE64URL_NOPAD.encode(bytes)
}

fn uv_text(uv: UserVerification) -> &'static str {
    match uv {
        UserVerification::Required => "required",
        UserVerification::Preferred => "preferred",
        UserVerification::Discouraged => "discouraged",
    }
}

fn descriptors(ids: &[Vec<u8>]) -> Value {
    Value::Array(
        ids.iter()
            .map(|id| json!({ "type": "public-key", "id": b64(id) }))
            .collect(),
    )
}

/// What the registration options say.
#[derive(Clone, Debug)]
pub struct CreationOptions<'a> {
    /// The RP ID and the name shown for it.
    pub rp_id: &'a str,
    /// The relying party's name, shown by some authenticators.
    pub rp_name: &'a str,
    /// The user handle (random, never the name).
    pub user_handle: &'a [u8],
    /// The user's name and the name to display.
    pub user_name: &'a str,
    /// Shown by the authenticator beside the name.
    pub display_name: &'a str,
    /// The challenge issued for this registration.
    pub challenge: &'a [u8],
    /// How long the browser may take, in milliseconds.
    pub timeout_ms: u64,
    /// Credentials the user has already: the authenticator that holds one
    /// says so instead of making a second.
    pub exclude: &'a [Vec<u8>],
    /// Whether the authenticator must verify the user.
    pub uv: UserVerification,
    /// Whether the vendor's attestation is asked for.
    pub attestation: bool,
}

impl CreationOptions<'_> {
    /// The options as `parseCreationOptionsFromJSON` takes them.
    pub fn to_json(&self) -> String {
        let mut options = json!({
            "rp": { "id": self.rp_id, "name": self.rp_name },
            "user": {
                "id": b64(self.user_handle),
                "name": self.user_name,
                "displayName": self.display_name,
            },
            "challenge": b64(self.challenge),
            "pubKeyCredParams": ALGORITHMS
                .iter()
                .map(|a| json!({ "type": "public-key", "alg": a.number() }))
                .collect::<Vec<_>>(),
            "timeout": self.timeout_ms,
            "excludeCredentials": descriptors(self.exclude),
            "authenticatorSelection": {
                "residentKey": "preferred",
                "requireResidentKey": false,
                "userVerification": uv_text(self.uv),
            },
            "attestation": if self.attestation { "direct" } else { "none" },
        });
        if self.attestation {
            options["attestationFormats"] = json!(["packed"]);
        }
        options.to_string()
    }
}

/// What the sign-in options say.
#[derive(Clone, Debug)]
pub struct RequestOptions<'a> {
    /// The RP ID.
    pub rp_id: &'a str,
    /// The challenge issued for this sign-in.
    pub challenge: &'a [u8],
    /// How long the browser may take, in milliseconds.
    pub timeout_ms: u64,
    /// The user's credentials.
    pub allow: &'a [Vec<u8>],
    /// Whether the authenticator must verify the user.
    pub uv: UserVerification,
}

impl RequestOptions<'_> {
    /// The options as `parseRequestOptionsFromJSON` takes them.
    pub fn to_json(&self) -> String {
        json!({
            "challenge": b64(self.challenge),
            "timeout": self.timeout_ms,
            "rpId": self.rp_id,
            "allowCredentials": descriptors(self.allow),
            "userVerification": uv_text(self.uv),
        })
        .to_string()
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CredentialJson<R> {
    id: String,
    raw_id: Option<String>,
    #[serde(rename = "type")]
    kind: String,
    response: R,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AttestationJson {
    #[serde(rename = "clientDataJSON")]
    client_data_json: String,
    attestation_object: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AssertionJson {
    #[serde(rename = "clientDataJSON")]
    client_data_json: String,
    authenticator_data: String,
    signature: String,
    user_handle: Option<String>,
}

/// A registration as the browser handed it back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegistrationResponse {
    /// The new credential's ID.
    pub id: Vec<u8>,
    /// The client data JSON.
    pub client_data_json: Vec<u8>,
    /// The CBOR attestation object.
    pub attestation_object: Vec<u8>,
}

/// A sign-in as the browser handed it back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AssertionResponse {
    /// The credential used.
    pub id: Vec<u8>,
    /// The client data JSON.
    pub client_data_json: Vec<u8>,
    /// The authenticator data.
    pub authenticator_data: Vec<u8>,
    /// The signature over it and the client data's hash.
    pub signature: Vec<u8>,
    /// The user handle, which discoverable credentials return.
    pub user_handle: Option<Vec<u8>>,
}

/// Decodes a base64url field no longer than `max` bytes decoded.
fn field(text: &str, max: usize, what: &'static str) -> Result<Vec<u8>, WebAuthnError> {
    if text.len() > max.div_ceil(3) * 4 {
        return Err(WebAuthnError::TooLarge(what));
    }
    BASE64URL_NOPAD
        .decode(text.trim_end_matches('=').as_bytes())
        .map_err(|_| WebAuthnError::Response("a binary field is not base64url"))
}

fn credential<R: for<'de> Deserialize<'de>>(json: &[u8]) -> Result<(Vec<u8>, R), WebAuthnError> {
    if json.len() > MAX_RESPONSE_JSON {
        return Err(WebAuthnError::TooLarge("browser response"));
    }
    let parsed: CredentialJson<R> = serde_json::from_slice(json).map_err(|_| {
        WebAuthnError::Response("not a PublicKeyCredential as its toJSON() gives it")
    })?;
    if parsed.kind != "public-key" {
        return Err(WebAuthnError::Response(
            "the credential's type is not public-key",
        ));
    }
    let id = field(&parsed.id, MAX_CREDENTIAL_ID, "credential ID")?;
    if id.is_empty() {
        return Err(WebAuthnError::Response("the credential ID is empty"));
    }
    if let Some(raw) = &parsed.raw_id {
        if field(raw, MAX_CREDENTIAL_ID, "credential ID")? != id {
            return Err(WebAuthnError::Response("id and rawId differ"));
        }
    }
    Ok((id, parsed.response))
}

impl RegistrationResponse {
    /// Reads the browser's JSON.
    pub fn from_json(json: &[u8]) -> Result<RegistrationResponse, WebAuthnError> {
        let (id, r) = credential::<AttestationJson>(json)?;
        Ok(RegistrationResponse {
            id,
            client_data_json: field(&r.client_data_json, MAX_CLIENT_DATA, "client data")?,
            attestation_object: field(
                &r.attestation_object,
                MAX_ATTESTATION_OBJECT,
                "attestation object",
            )?,
        })
    }
}

impl AssertionResponse {
    /// Reads the browser's JSON.
    pub fn from_json(json: &[u8]) -> Result<AssertionResponse, WebAuthnError> {
        let (id, r) = credential::<AssertionJson>(json)?;
        Ok(AssertionResponse {
            id,
            client_data_json: field(&r.client_data_json, MAX_CLIENT_DATA, "client data")?,
            authenticator_data: field(
                &r.authenticator_data,
                MAX_AUTHENTICATOR_DATA,
                "authenticator data",
            )?,
            signature: field(&r.signature, MAX_SIGNATURE, "signature")?,
            user_handle: r
                .user_handle
                .filter(|h| !h.is_empty())
                .map(|h| field(&h, 64, "user handle"))
                .transpose()?,
        })
    }
}
