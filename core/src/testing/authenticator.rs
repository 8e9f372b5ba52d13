//! A software passkey (Ed25519, from a seed, so every door of a conformance
//! scenario sees the same bytes): it answers the options the engine gives
//! as a browser with a CTAP2 authenticator would, and can be told to err as
//! an attacker or a broken device would (another origin, another RP ID, no
//! user verification, a counter that goes back).

use ciborium::value::Value;
use data_encoding::BASE64URL_NOPAD;
use ring::digest::{digest, SHA256};
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, Ed25519KeyPair, KeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};
use serde_json::{json, Value as Json};

use crate::webauthn::auth_data::bits::{AT, UP, UV};

/// A software authenticator holding one credential.
pub struct SoftAuthenticator {
    key: Ed25519KeyPair,
    /// The credential's ID.
    pub credential_id: Vec<u8>,
    /// The origin the "browser" reports in the client data.
    pub origin: String,
    /// The RP ID it signs for; `None`: the one the options name.
    pub rp_id: Option<String>,
    /// The signature counter (incremented before each sign-in).
    pub counter: u32,
    /// Whether it verifies the user (sets the UV flag).
    pub verifies_user: bool,
    /// Its model.
    pub aaguid: [u8; 16],
    /// The user handle of the registration options it answered (a
    /// discoverable credential keeps it and returns it at every sign-in).
    pub user_handle: std::cell::RefCell<Option<Vec<u8>>>,
    /// The attestation its registrations carry.
    pub attestation: SoftAttestation,
}

/// The attestation statement a [`SoftAuthenticator`] gives.
#[derive(Clone, Debug, Default)]
pub enum SoftAttestation {
    /// `none`.
    #[default]
    None,
    /// `packed`, signed by the credential's own key.
    SelfSigned,
    /// `packed` with `x5c`: `chain` (DER, the attestation certificate first)
    /// and the attestation certificate's P-256 key (PKCS#8 DER).
    Vendor {
        /// The certificates.
        chain: Vec<Vec<u8>>,
        /// The attestation key.
        key_pkcs8: Vec<u8>,
    },
}

impl core::fmt::Debug for SoftAuthenticator {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SoftAuthenticator")
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

fn b64(bytes: &[u8]) -> String {
    BASE64URL_NOPAD.encode(bytes)
}

/// `value` as CBOR bytes.
pub(crate) fn cbor(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    // Writing CBOR to a Vec cannot fail.
    let _ = ciborium::ser::into_writer(value, &mut out);
    out
}

/// A CBOR integer.
pub(crate) fn int(i: i64) -> Value {
    Value::Integer(i.into())
}

/// The challenge and RP ID of options JSON (creation or request).
fn read_options(options: &str) -> (Vec<u8>, String) {
    let v: Json = serde_json::from_str(options).unwrap_or(Json::Null);
    let challenge = v["challenge"]
        .as_str()
        .and_then(|c| BASE64URL_NOPAD.decode(c.as_bytes()).ok())
        .unwrap_or_default();
    let rp_id = v["rp"]["id"]
        .as_str()
        .or(v["rpId"].as_str())
        .unwrap_or_default()
        .to_owned();
    (challenge, rp_id)
}

impl SoftAuthenticator {
    /// An authenticator whose key and credential ID come from `seed`,
    /// used at pages of `origin`.
    pub fn new(seed: u8, origin: &str) -> SoftAuthenticator {
        let key = Ed25519KeyPair::from_seed_unchecked(&[seed; 32])
            .unwrap_or_else(|_| unreachable!("a 32-byte seed is always a key"));
        SoftAuthenticator {
            key,
            credential_id: vec![seed; 16],
            origin: origin.to_owned(),
            rp_id: None,
            counter: 0,
            verifies_user: true,
            aaguid: [0x5a; 16],
            user_handle: std::cell::RefCell::new(None),
            attestation: SoftAttestation::None,
        }
    }

    fn client_data(&self, kind: &str, challenge: &[u8]) -> Vec<u8> {
        json!({
            "type": kind,
            "challenge": b64(challenge),
            "origin": self.origin,
            "crossOrigin": false,
        })
        .to_string()
        .into_bytes()
    }

    fn auth_data(&self, rp_id: &str, attested: bool) -> Vec<u8> {
        let rp_id = self.rp_id.as_deref().unwrap_or(rp_id);
        let mut out = digest(&SHA256, rp_id.as_bytes()).as_ref().to_vec();
        let mut flags = UP;
        if self.verifies_user {
            flags |= UV;
        }
        if attested {
            flags |= AT;
        }
        out.push(flags);
        out.extend(self.counter.to_be_bytes());
        if attested {
            out.extend(self.aaguid);
            out.extend((self.credential_id.len() as u16).to_be_bytes());
            out.extend(&self.credential_id);
            out.extend(cbor(&Value::Map(vec![
                (int(1), int(1)),
                (int(3), int(-8)),
                (int(-1), int(6)),
                (
                    int(-2),
                    Value::Bytes(self.key.public_key().as_ref().to_vec()),
                ),
            ])));
        }
        out
    }

    /// The browser's `PublicKeyCredential.toJSON()` after
    /// `navigator.credentials.create(options)`, with its attestation.
    pub fn register(&self, options: &str) -> String {
        let (challenge, rp_id) = read_options(options);
        let v: Json = serde_json::from_str(options).unwrap_or(Json::Null);
        if let Some(handle) = v["user"]["id"]
            .as_str()
            .and_then(|h| BASE64URL_NOPAD.decode(h.as_bytes()).ok())
        {
            *self.user_handle.borrow_mut() = Some(handle);
        }
        let client = self.client_data("webauthn.create", &challenge);
        let data = self.auth_data(&rp_id, true);
        let (format, statement) = self.statement(&data, &client);
        let attestation = cbor(&Value::Map(vec![
            (Value::Text("fmt".into()), Value::Text(format.into())),
            (Value::Text("attStmt".into()), Value::Map(statement)),
            (Value::Text("authData".into()), Value::Bytes(data)),
        ]));
        json!({
            "id": b64(&self.credential_id),
            "rawId": b64(&self.credential_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": b64(&client),
                "attestationObject": b64(&attestation),
                "transports": ["internal"],
            },
            "clientExtensionResults": {},
        })
        .to_string()
    }

    /// The attestation format and statement over `data` and `client`.
    fn statement(&self, data: &[u8], client: &[u8]) -> (&'static str, Vec<(Value, Value)>) {
        let signed = [data, digest(&SHA256, client).as_ref()].concat();
        let entry = |k: &str, v: Value| (Value::Text(k.into()), v);
        match &self.attestation {
            SoftAttestation::None => ("none", vec![]),
            SoftAttestation::SelfSigned => (
                "packed",
                vec![
                    entry("alg", int(-8)),
                    entry(
                        "sig",
                        Value::Bytes(self.key.sign(&signed).as_ref().to_vec()),
                    ),
                ],
            ),
            SoftAttestation::Vendor { chain, key_pkcs8 } => {
                // ECDSA signing needs ring's own generator (its trait is
                // sealed); a test authenticator, never in a shipped build.
                #[allow(clippy::disallowed_methods)]
                let rng = SystemRandom::new();
                // A test's own key file; a key that does not read signs nothing.
                let sig =
                    EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, key_pkcs8, &rng)
                        .ok()
                        .and_then(|key| key.sign(&rng, &signed).ok())
                        .map(|s| s.as_ref().to_vec())
                        .unwrap_or_default();
                (
                    "packed",
                    vec![
                        entry("alg", int(-7)),
                        entry("sig", Value::Bytes(sig)),
                        entry(
                            "x5c",
                            Value::Array(chain.iter().cloned().map(Value::Bytes).collect()),
                        ),
                    ],
                )
            }
        }
    }

    /// The browser's `PublicKeyCredential.toJSON()` after
    /// `navigator.credentials.get(options)`: the counter grows by one first.
    pub fn sign_in(&mut self, options: &str) -> String {
        self.counter = self.counter.wrapping_add(1);
        let (challenge, rp_id) = read_options(options);
        let client = self.client_data("webauthn.get", &challenge);
        let data = self.auth_data(&rp_id, false);
        let signed = [data.as_slice(), digest(&SHA256, &client).as_ref()].concat();
        let signature = self.key.sign(&signed);
        json!({
            "id": b64(&self.credential_id),
            "rawId": b64(&self.credential_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": b64(&client),
                "authenticatorData": b64(&data),
                "signature": b64(signature.as_ref()),
                "userHandle": self.user_handle.borrow().as_deref().map(b64),
            },
            "clientExtensionResults": {},
        })
        .to_string()
    }
}
