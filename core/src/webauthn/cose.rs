//! A credential's COSE public key (RFC 9053): the three kinds WebAuthn
//! authenticators use, checked when the credential is registered, and the
//! signature check of each with ring.

use super::error::WebAuthnError;
use ciborium::value::Value;
use ring::signature::{self, UnparsedPublicKey};

/// A COSE signature algorithm this engine verifies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CoseAlgorithm {
    /// ECDSA with P-256 and SHA-256 (-7).
    Es256,
    /// EdDSA with Ed25519 (-8).
    EdDsa,
    /// RSASSA-PKCS1-v1_5 with SHA-256 (-257).
    Rs256,
}

impl CoseAlgorithm {
    /// The algorithm numbered `n` in the COSE registry.
    pub fn from_number(n: i64) -> Result<CoseAlgorithm, WebAuthnError> {
        match n {
            -7 => Ok(CoseAlgorithm::Es256),
            -8 => Ok(CoseAlgorithm::EdDsa),
            -257 => Ok(CoseAlgorithm::Rs256),
            other => Err(WebAuthnError::UnsupportedAlgorithm(other)),
        }
    }

    /// Its number in the COSE registry.
    pub fn number(self) -> i64 {
        match self {
            CoseAlgorithm::Es256 => -7,
            CoseAlgorithm::EdDsa => -8,
            CoseAlgorithm::Rs256 => -257,
        }
    }
}

/// A credential's public key (stored in the user's authenticated record as
/// `{"alg":"ES256","point":BASE64}`, and so on).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "alg")]
pub enum PublicKey {
    /// P-256: the uncompressed point (0x04, x, y).
    #[serde(rename = "ES256")]
    Es256 {
        /// 65 bytes.
        #[serde(with = "crate::codec::b64")]
        point: Vec<u8>,
    },
    /// Ed25519: the 32-byte key.
    #[serde(rename = "EdDSA")]
    EdDsa {
        /// 32 bytes.
        #[serde(with = "crate::codec::b64")]
        key: Vec<u8>,
    },
    /// RSA: modulus and public exponent, big-endian.
    #[serde(rename = "RS256")]
    Rs256 {
        /// 2048 to 8192 bits.
        #[serde(with = "crate::codec::b64")]
        n: Vec<u8>,
        /// The public exponent.
        #[serde(with = "crate::codec::b64")]
        e: Vec<u8>,
    },
}

const KTY: i128 = 1;
const ALG: i128 = 3;
const KTY_OKP: i128 = 1;
const KTY_EC2: i128 = 2;
const KTY_RSA: i128 = 3;
const CRV_P256: i128 = 1;
const CRV_ED25519: i128 = 6;

impl PublicKey {
    /// The key of a COSE_Key map, whose type, algorithm and curve must
    /// agree.
    pub fn from_cose(value: &Value) -> Result<PublicKey, WebAuthnError> {
        let Value::Map(entries) = value else {
            return Err(WebAuthnError::BadKey("not a COSE_Key map"));
        };
        let int = |label: i128| -> Result<Option<i128>, WebAuthnError> {
            Ok(match get(entries, label)? {
                Some(Value::Integer(i)) => Some(i128::from(*i)),
                Some(_) => return Err(WebAuthnError::BadKey("a parameter is not an integer")),
                None => None,
            })
        };
        let kty = int(KTY)?.ok_or(WebAuthnError::BadKey("no key type"))?;
        let alg = int(ALG)?.ok_or(WebAuthnError::BadKey("no algorithm"))?;
        let alg = CoseAlgorithm::from_number(
            i64::try_from(alg).map_err(|_| WebAuthnError::UnsupportedAlgorithm(i64::MIN))?,
        )?;
        let bytes = |label: i128| -> Result<&Vec<u8>, WebAuthnError> {
            match get(entries, label)? {
                Some(Value::Bytes(b)) => Ok(b),
                _ => Err(WebAuthnError::BadKey(
                    "a key parameter is missing or not bytes",
                )),
            }
        };
        let key = match (alg, kty) {
            (CoseAlgorithm::Es256, KTY_EC2) => {
                if int(-1)? != Some(CRV_P256) {
                    return Err(WebAuthnError::BadKey("ES256 needs the curve P-256"));
                }
                let (x, y) = (bytes(-2)?, bytes(-3)?);
                if x.len() != 32 || y.len() != 32 {
                    return Err(WebAuthnError::BadKey("a P-256 coordinate is not 32 bytes"));
                }
                PublicKey::Es256 {
                    point: [&[4u8][..], x, y].concat(),
                }
            }
            (CoseAlgorithm::EdDsa, KTY_OKP) => {
                if int(-1)? != Some(CRV_ED25519) {
                    return Err(WebAuthnError::BadKey("EdDSA is verified on Ed25519 only"));
                }
                let x = bytes(-2)?;
                if x.len() != 32 {
                    return Err(WebAuthnError::BadKey("an Ed25519 key is not 32 bytes"));
                }
                PublicKey::EdDsa { key: x.clone() }
            }
            (CoseAlgorithm::Rs256, KTY_RSA) => {
                let (n, e) = (bytes(-1)?, bytes(-2)?);
                if !(256..=1024).contains(&n.len()) || e.is_empty() || e.len() > 8 {
                    return Err(WebAuthnError::BadKey(
                        "an RSA key of 2048 to 8192 bits is needed",
                    ));
                }
                PublicKey::Rs256 {
                    n: n.clone(),
                    e: e.clone(),
                }
            }
            _ => {
                return Err(WebAuthnError::BadKey(
                    "the key type does not fit the algorithm",
                ))
            }
        };
        // ring checks that a P-256 point is on the curve when it verifies:
        // a credential registered with one that is not (possible with a
        // `none` attestation, which signs nothing) fails closed at its first
        // sign-in, as a bad signature.
        Ok(key)
    }

    /// Its algorithm.
    pub fn algorithm(&self) -> CoseAlgorithm {
        match self {
            PublicKey::Es256 { .. } => CoseAlgorithm::Es256,
            PublicKey::EdDsa { .. } => CoseAlgorithm::EdDsa,
            PublicKey::Rs256 { .. } => CoseAlgorithm::Rs256,
        }
    }

    /// Checks `signature` over `message` (ES256 signatures are ASN.1 DER, as
    /// WebAuthn has them).
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), WebAuthnError> {
        let checked = match self {
            PublicKey::Es256 { point } => {
                UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_ASN1, point)
                    .verify(message, signature)
            }
            PublicKey::EdDsa { key } => {
                UnparsedPublicKey::new(&signature::ED25519, key).verify(message, signature)
            }
            PublicKey::Rs256 { n, e } => signature::RsaPublicKeyComponents { n, e }.verify(
                &signature::RSA_PKCS1_2048_8192_SHA256,
                message,
                signature,
            ),
        };
        checked.map_err(|_| WebAuthnError::BadSignature)
    }
}

/// The value under integer `label`, refusing a label given twice.
fn get(entries: &[(Value, Value)], label: i128) -> Result<Option<&Value>, WebAuthnError> {
    let mut found = None;
    for (key, value) in entries {
        if let Value::Integer(k) = key {
            if i128::from(*k) == label {
                if found.is_some() {
                    return Err(WebAuthnError::BadKey("a parameter is given twice"));
                }
                found = Some(value);
            }
        }
    }
    Ok(found)
}
