//! Attestation: what proves an authenticator's model at registration.
//!
//! `none` proves nothing and `packed` self attestation only that the
//! credential's key signed; `packed` with a certificate chain (`x5c`) is a
//! statement by the authenticator's vendor, proven when the chain leads to a
//! root the policy trusts (`[passkeys] attestation_roots`). With
//! `attestation = "required"`, only such a proven statement registers, and
//! the model (AAGUID) the policy's allow-list checks is then the vendor's
//! word, not the authenticator's claim.
//!
//! The certificates are checked by `rustls-webpki` (pure Rust over `ring`,
//! as the rest of the core, so the component checks exactly what a host
//! would); the FIDO rules on top of it (subject, AAGUID extension) are here.

use core::time::Duration;

use ciborium::value::Value;
use data_encoding::BASE64;
use rustls_pki_types::{CertificateDer, SignatureVerificationAlgorithm, TrustAnchor, UnixTime};
use webpki::{EndEntityCert, KeyPurposeIdIter};

use super::auth_data::AttestedCredential;
use super::cose::CoseAlgorithm;
use super::der;
use super::WebAuthnError;

/// Most certificates an `x5c` chain may hold (the attestation certificate
/// and its intermediates).
pub const MAX_CHAIN: usize = 4;
/// Most roots a policy may list.
pub const MAX_ROOTS: usize = 64;
/// The subject's organisational unit FIDO requires of a `packed`
/// attestation certificate.
const ATTESTATION_UNIT: &[u8] = b"Authenticator Attestation";

/// The vendors' attestation roots the policy trusts: DER certificates, each
/// checked to be a usable trust anchor when the policy is read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AttestationRoots {
    certificates: Vec<Vec<u8>>,
}

impl AttestationRoots {
    /// Reads PEM text (`-----BEGIN CERTIFICATE-----` blocks; text outside
    /// them, such as a vendor's comment, is ignored). The error names the
    /// block, counted from 1.
    pub fn from_pem(text: &str) -> Result<AttestationRoots, String> {
        const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
        const END: &str = "-----END CERTIFICATE-----";
        let mut certificates = Vec::new();
        let mut block: Option<String> = None;
        for line in text.lines().map(str::trim) {
            match (&mut block, line) {
                (None, BEGIN) => block = Some(String::new()),
                (None, _) => {}
                (Some(body), END) => {
                    let n = certificates.len() + 1;
                    if n > MAX_ROOTS {
                        return Err(format!("at most {MAX_ROOTS} roots"));
                    }
                    let der = BASE64
                        .decode(body.as_bytes())
                        .map_err(|_| format!("certificate {n} is not valid base64"))?;
                    webpki::anchor_from_trusted_cert(&CertificateDer::from(der.as_slice()))
                        .map_err(|e| format!("certificate {n} is not a usable root ({e:?})"))?;
                    certificates.push(der);
                    block = None;
                }
                (Some(_), BEGIN) => {
                    return Err(format!(
                        "certificate {} has no END line",
                        certificates.len() + 1
                    ))
                }
                (Some(body), line) => body.push_str(line),
            }
        }
        if block.is_some() {
            return Err(format!(
                "certificate {} has no END line",
                certificates.len() + 1
            ));
        }
        Ok(AttestationRoots { certificates })
    }

    /// How many roots there are.
    pub fn len(&self) -> usize {
        self.certificates.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.certificates.is_empty()
    }

    fn anchors(&self) -> Vec<TrustAnchor<'_>> {
        self.certificates
            .iter()
            .filter_map(|c| {
                let der = CertificateDer::from(c.as_slice());
                // Checked when read; `to_owned` keeps the borrow on `self`.
                webpki::anchor_from_trusted_cert(&der)
                    .ok()
                    .map(|a| a.to_owned())
            })
            .collect()
    }
}

/// What a registration must prove about its authenticator.
#[derive(Clone, Copy, Debug)]
pub enum AttestationCheck<'a> {
    /// Whatever the authenticator gives is checked as far as it goes; no
    /// attestation at all is fine.
    Optional,
    /// A `packed` statement whose certificate chain leads to one of
    /// `roots`, valid at `now` (seconds since the epoch).
    Required {
        /// The roots the policy trusts.
        roots: &'a AttestationRoots,
        /// The time the certificates must be valid at.
        now: u64,
    },
}

/// What a verified attestation proved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Proven {
    /// The format (`none`, `packed`).
    pub format: &'static str,
    /// Whether a trusted vendor's certificate vouches for the model.
    pub certified: bool,
}

/// Checks the attestation statement of a registration whose authenticator
/// data (`auth_data`, holding `attested`) the rest of the registration has
/// checked; `client_hash` is the SHA-256 of its client data.
pub(super) fn verify(
    format: &str,
    statement: &[(Value, Value)],
    auth_data: &[u8],
    client_hash: &[u8],
    attested: &AttestedCredential,
    check: AttestationCheck<'_>,
) -> Result<Proven, WebAuthnError> {
    let required = |why| match check {
        AttestationCheck::Required { .. } => Err(WebAuthnError::AttestationRequired(why)),
        AttestationCheck::Optional => Ok(()),
    };
    match format {
        "none" => {
            if !statement.is_empty() {
                return Err(WebAuthnError::Attestation(
                    "a \"none\" attestation with a statement",
                ));
            }
            required("the authenticator gave none")?;
            Ok(Proven {
                format: "none",
                certified: false,
            })
        }
        "packed" => {
            let packed = Packed::parse(statement)?;
            let signed = [auth_data, client_hash].concat();
            if packed.chain.is_empty() {
                if packed.alg != attested.public_key.algorithm() {
                    return Err(WebAuthnError::Attestation(
                        "the packed attestation's algorithm is not the credential's",
                    ));
                }
                attested
                    .public_key
                    .verify(&signed, &packed.sig)
                    .map_err(|_| {
                        WebAuthnError::Attestation(
                            "the packed self attestation's signature does not verify",
                        )
                    })?;
                required("self attestation: the authenticator vouches only for itself")?;
                return Ok(Proven {
                    format: "packed",
                    certified: false,
                });
            }
            let certified = certificate(&packed, &signed, attested, check)?;
            Ok(Proven {
                format: "packed",
                certified,
            })
        }
        other => Err(WebAuthnError::UnsupportedAttestation(other.to_owned())),
    }
}

/// A `packed` statement: `alg`, `sig` and, for a vendor's attestation, `x5c`.
struct Packed {
    alg: CoseAlgorithm,
    sig: Vec<u8>,
    chain: Vec<Vec<u8>>,
}

impl Packed {
    fn parse(statement: &[(Value, Value)]) -> Result<Packed, WebAuthnError> {
        let (mut alg, mut sig, mut chain) = (None, None, None);
        for (key, value) in statement {
            match (key, value) {
                (Value::Text(k), Value::Integer(v)) if k == "alg" && alg.is_none() => {
                    let number = i64::try_from(i128::from(*v))
                        .map_err(|_| WebAuthnError::Attestation("alg is out of range"))?;
                    alg = Some(CoseAlgorithm::from_number(number)?);
                }
                (Value::Text(k), Value::Bytes(v)) if k == "sig" && sig.is_none() => {
                    sig = Some(v.clone())
                }
                (Value::Text(k), Value::Array(items)) if k == "x5c" && chain.is_none() => {
                    if items.is_empty() || items.len() > MAX_CHAIN {
                        return Err(WebAuthnError::Attestation(
                            "x5c holds no certificate, or more than four",
                        ));
                    }
                    let certificates = items
                        .iter()
                        .map(|item| match item {
                            Value::Bytes(der) => Ok(der.clone()),
                            _ => Err(WebAuthnError::Attestation(
                                "x5c holds something other than a certificate",
                            )),
                        })
                        .collect::<Result<Vec<_>, _>>()?;
                    chain = Some(certificates);
                }
                _ => {
                    return Err(WebAuthnError::Attestation(
                        "the packed statement holds an unknown, repeated or mistyped entry",
                    ))
                }
            }
        }
        match (alg, sig) {
            (Some(alg), Some(sig)) => Ok(Packed {
                alg,
                sig,
                chain: chain.unwrap_or_default(),
            }),
            _ => Err(WebAuthnError::Attestation(
                "the packed statement lacks alg or sig",
            )),
        }
    }
}

/// Any extended key usage: FIDO sets none on attestation certificates, and
/// some vendors set their own.
struct AnyUsage;

impl webpki::ExtendedKeyUsageValidator for AnyUsage {
    fn validate(&self, iter: KeyPurposeIdIter<'_, '_>) -> Result<(), webpki::Error> {
        for purpose in iter {
            purpose?;
        }
        Ok(())
    }
}

/// Checks a `packed` statement with a certificate chain: the signature by
/// the attestation certificate's key, FIDO's rules for that certificate,
/// and, where required, the chain to a trusted root. Gives whether the
/// chain was proven.
fn certificate(
    packed: &Packed,
    signed: &[u8],
    attested: &AttestedCredential,
    check: AttestationCheck<'_>,
) -> Result<bool, WebAuthnError> {
    let bad = WebAuthnError::Attestation;
    let leaf_der = CertificateDer::from(packed.chain[0].as_slice());
    let leaf = EndEntityCert::try_from(&leaf_der)
        .map_err(|_| bad("the attestation certificate does not parse"))?;
    let algorithm: &dyn SignatureVerificationAlgorithm = match packed.alg {
        CoseAlgorithm::Es256 => webpki::ring::ECDSA_P256_SHA256,
        CoseAlgorithm::EdDsa => webpki::ring::ED25519,
        CoseAlgorithm::Rs256 => webpki::ring::RSA_PKCS1_2048_8192_SHA256,
    };
    leaf.verify_signature(algorithm, signed, &packed.sig)
        .map_err(|_| {
            bad("the packed attestation's signature does not verify with its certificate")
        })?;
    let subject = der::Subject::read(&packed.chain[0])?;
    let one = |kind| subject.values(kind).len() == 1;
    if !(one(der::COUNTRY) && one(der::ORGANIZATION) && one(der::COMMON_NAME)) {
        return Err(bad(
            "the attestation certificate's subject lacks a country, organisation or common name",
        ));
    }
    if subject.values(der::ORGANIZATIONAL_UNIT) != [ATTESTATION_UNIT] {
        return Err(bad(
            "the attestation certificate's unit is not \"Authenticator Attestation\"",
        ));
    }
    if der::aaguid_extension(&packed.chain[0])?.is_some_and(|a| a != attested.aaguid) {
        return Err(bad(
            "the attestation certificate names another model (AAGUID) than the authenticator",
        ));
    }
    let AttestationCheck::Required { roots, now } = check else {
        return Ok(false);
    };
    let intermediates: Vec<CertificateDer<'_>> = packed.chain[1..]
        .iter()
        .map(|c| CertificateDer::from(c.as_slice()))
        .collect();
    let anchors = roots.anchors();
    leaf.verify_for_usage(
        webpki::ALL_VERIFICATION_ALGS,
        &anchors,
        &intermediates,
        UnixTime::since_unix_epoch(Duration::from_secs(now)),
        AnyUsage,
        None,
        None,
    )
    .map_err(|e| WebAuthnError::UntrustedAttestation(chain_error(&e)))?;
    Ok(true)
}

/// Why a chain does not verify, in words.
fn chain_error(e: &webpki::Error) -> &'static str {
    use webpki::Error as E;
    match e {
        E::UnknownIssuer => "its certificates lead to no root the policy trusts",
        E::CertExpired { .. } | E::CertNotValidYet { .. } => {
            "a certificate in its chain is expired or not yet valid"
        }
        E::CaUsedAsEndEntity => "the attestation certificate is a certificate authority's",
        E::InvalidSignatureForPublicKey
        | E::UnsupportedSignatureAlgorithmForPublicKeyContext(_) => {
            "a certificate in its chain is not signed by its issuer"
        }
        _ => "its certificate chain does not verify",
    }
}
