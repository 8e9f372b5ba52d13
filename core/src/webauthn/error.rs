//! Why a registration or an assertion is refused.

use core::fmt;

/// A refused WebAuthn ceremony. `Display` is for logs and the audit trail;
/// nothing in it is secret (a credential's public key is not).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WebAuthnError {
    /// An input over its bound (which one).
    TooLarge(&'static str),
    /// The browser's response is not a `PublicKeyCredential`'s JSON (why).
    Response(&'static str),
    /// The client data is not the JSON a browser sends (why).
    ClientData(&'static str),
    /// The client data is for another ceremony (`webauthn.get` where
    /// `webauthn.create` was expected, or the other way).
    WrongType {
        /// The type expected.
        expected: &'static str,
        /// The type received.
        received: String,
    },
    /// The challenge is not the one issued for this ceremony.
    ChallengeMismatch,
    /// The page that asked runs at an origin not configured (phishing, or a
    /// look-alike domain).
    OriginNotAllowed(String),
    /// The request came from a cross-origin frame.
    CrossOrigin,
    /// The authenticator data is malformed (why).
    AuthenticatorData(&'static str),
    /// The authenticator signed for another RP ID.
    RpIdMismatch,
    /// The user was not present (no touch).
    UserNotPresent,
    /// The policy requires user verification and the authenticator did not
    /// verify the user.
    UserNotVerified,
    /// Flags that contradict each other or the registration (why).
    Flags(&'static str),
    /// A CBOR structure that does not decode, or is not the one expected.
    Cbor(&'static str),
    /// A registration without an attested credential.
    NoAttestedCredential,
    /// A public key that is not a valid key of its algorithm (why).
    BadKey(&'static str),
    /// A COSE algorithm this engine does not verify (its number).
    UnsupportedAlgorithm(i64),
    /// An attestation statement that does not verify (why).
    Attestation(&'static str),
    /// The policy requires a vendor's attestation and this registration
    /// has none the engine can prove (why).
    AttestationRequired(&'static str),
    /// A vendor's attestation whose certificate chain does not lead to a
    /// root the policy trusts, or does not verify (why).
    UntrustedAttestation(&'static str),
    /// An attestation format this engine does not verify (its name).
    UnsupportedAttestation(String),
    /// The signature does not verify with the credential's key.
    BadSignature,
    /// The signature counter did not grow: a cloned authenticator may have
    /// signed in between.
    CounterRegressed {
        /// The counter stored.
        stored: u32,
        /// The counter received.
        received: u32,
    },
}

impl fmt::Display for WebAuthnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use WebAuthnError as E;
        match self {
            E::TooLarge(what) => write!(f, "the {what} is too large"),
            E::Response(why) => write!(f, "the browser's response is not valid: {why}"),
            E::ClientData(why) => write!(f, "the client data is not valid: {why}"),
            E::WrongType { expected, received } => {
                write!(f, "the client data is for {received:?}, not {expected:?}")
            }
            E::ChallengeMismatch => f.write_str("the challenge is not the one issued for this sign-in"),
            E::OriginNotAllowed(origin) => {
                write!(f, "the origin {origin:?} is not one of this relying party's")
            }
            E::CrossOrigin => f.write_str("the request came from a cross-origin frame"),
            E::AuthenticatorData(why) => write!(f, "the authenticator data is not valid: {why}"),
            E::RpIdMismatch => f.write_str("the authenticator signed for another RP ID"),
            E::UserNotPresent => f.write_str("the authenticator did not confirm the user's presence"),
            E::UserNotVerified => f.write_str(
                "the authenticator did not verify the user (PIN or biometrics), which the policy requires",
            ),
            E::Flags(why) => write!(f, "the authenticator's flags are not valid: {why}"),
            E::Cbor(why) => write!(f, "the CBOR is not valid: {why}"),
            E::NoAttestedCredential => f.write_str("the registration holds no credential"),
            E::BadKey(why) => write!(f, "the credential's public key is not valid: {why}"),
            E::UnsupportedAlgorithm(alg) => write!(
                f,
                "COSE algorithm {alg} is not supported: use ES256 (-7), EdDSA (-8) or RS256 (-257)"
            ),
            E::Attestation(why) => write!(f, "the attestation does not verify: {why}"),
            E::AttestationRequired(why) => write!(
                f,
                "the policy requires an attestation from a trusted authenticator vendor: {why}"
            ),
            E::UntrustedAttestation(why) => {
                write!(f, "the authenticator's attestation is not trusted: {why}")
            }
            E::UnsupportedAttestation(format) => {
                write!(f, "attestation format {format:?} is not supported: ask for attestation \"none\"")
            }
            E::BadSignature => f.write_str("the signature does not verify with the credential's key"),
            E::CounterRegressed { stored, received } => write!(
                f,
                "the signature counter went from {stored} to {received}: the authenticator may have been cloned"
            ),
        }
    }
}

impl std::error::Error for WebAuthnError {}
