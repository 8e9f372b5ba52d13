//! Attestation through the engine: with `[passkeys] attestation =
//! "required"`, only an authenticator whose vendor's certificate chains to a
//! root the policy trusts registers, and the model the allow-list checks is
//! then the vendor's word. The certificates are made by
//! `vectors/webauthn/attestation/make.sh` (openssl): a root, an intermediate,
//! an attestation certificate for the software authenticator's model, and
//! the ways one can be wrong.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common::{Fixture, T0};
use planasonix_core::testing::{SoftAttestation, SoftAuthenticator};
use planasonix_core::webauthn::WebAuthnError;
use planasonix_core::*;

const ORIGIN: &str = "https://login.example.com";
const ROOT: &str = include_str!("vectors/webauthn/attestation/root.pem");
const OTHER_ROOT: &str = include_str!("vectors/webauthn/attestation/other-root.pem");
const LEAF: &[u8] = include_bytes!("vectors/webauthn/attestation/leaf.der");
const LEAF_WRONG_UNIT: &[u8] = include_bytes!("vectors/webauthn/attestation/leaf-wrong-unit.der");
const LEAF_OTHER_MODEL: &[u8] = include_bytes!("vectors/webauthn/attestation/leaf-other-model.der");
const LEAF_CA: &[u8] = include_bytes!("vectors/webauthn/attestation/leaf-ca.der");
const INTERMEDIATE: &[u8] = include_bytes!("vectors/webauthn/attestation/intermediate.der");
const LEAF_KEY: &[u8] = include_bytes!("vectors/webauthn/attestation/leaf.pk8");
/// The software authenticator's model, which `leaf.der` names.
const MODEL: &str = "5a5a5a5a-5a5a-5a5a-5a5a-5a5a5a5a5a5a";

fn policy(attestation: &str, roots: &str, extra: &str) -> String {
    format!(
        "[passkeys]\nenabled = true\nrp_id = \"example.com\"\norigins = [\"{ORIGIN}\"]\nattestation = \"{attestation}\"\nattestation_roots = \"\"\"\n{roots}\"\"\"\n{extra}"
    )
}

fn vendor(chain: &[&[u8]]) -> SoftAttestation {
    SoftAttestation::Vendor {
        chain: chain.iter().map(|c| c.to_vec()).collect(),
        key_pkcs8: LEAF_KEY.to_vec(),
    }
}

/// Registers a key attesting `attestation` for alice at `at`.
fn register(f: &Fixture, attestation: SoftAttestation, at: UnixTime) -> Result<(), Error> {
    let e = f.engine();
    let mut key = SoftAuthenticator::new(3, ORIGIN);
    key.attestation = attestation;
    let options = e
        .passkey_registration_options("alice", "", at, &mut SeededRandom::new(at.0))
        .unwrap();
    e.register_passkey(
        "alice",
        "Key",
        key.register(&options).as_bytes(),
        at,
        &mut SeededRandom::new(at.0 + 1),
    )
    .map(|_| ())
}

/// What is attested, the roots trusted, when, and the refusal expected.
type Case = (
    &'static str,
    SoftAttestation,
    &'static str,
    UnixTime,
    fn(&WebAuthnError) -> bool,
);

fn passkeys(f: &Fixture) -> usize {
    f.engine().status("alice", T0).unwrap().passkeys.len()
}

#[test]
fn a_vendors_chain_to_a_trusted_root_registers() {
    let f = Fixture::new(&policy("required", ROOT, ""));
    let options = f
        .engine()
        .passkey_registration_options("alice", "", T0, &mut SeededRandom::new(1))
        .unwrap();
    let json: serde_json::Value = serde_json::from_str(&options).unwrap();
    assert_eq!(json["attestation"], "direct", "the browser is asked for it");
    assert_eq!(json["attestationFormats"], serde_json::json!(["packed"]));

    register(&f, vendor(&[LEAF, INTERMEDIATE]), T0).unwrap();
    assert_eq!(passkeys(&f), 1);
    assert_eq!(
        f.engine().status("alice", T0).unwrap().passkeys[0].aaguid,
        MODEL
    );
}

#[test]
fn a_registration_that_proves_no_trusted_model_is_refused_and_audited() {
    let late = UnixTime(4_200_000_000); // 2103: after every certificate's end
    let cases: Vec<Case> = vec![
        ("no attestation", SoftAttestation::None, ROOT, T0, |e| {
            matches!(e, WebAuthnError::AttestationRequired(_))
        }),
        (
            "self attestation",
            SoftAttestation::SelfSigned,
            ROOT,
            T0,
            |e| matches!(e, WebAuthnError::AttestationRequired(_)),
        ),
        (
            "a chain missing its intermediate",
            vendor(&[LEAF]),
            ROOT,
            T0,
            |e| {
                *e == WebAuthnError::UntrustedAttestation(
                    "its certificates lead to no root the policy trusts",
                )
            },
        ),
        (
            "another vendor's root",
            vendor(&[LEAF, INTERMEDIATE]),
            OTHER_ROOT,
            T0,
            |e| {
                *e == WebAuthnError::UntrustedAttestation(
                    "its certificates lead to no root the policy trusts",
                )
            },
        ),
        (
            "an expired chain",
            vendor(&[LEAF, INTERMEDIATE]),
            ROOT,
            late,
            |e| {
                *e == WebAuthnError::UntrustedAttestation(
                    "a certificate in its chain is expired or not yet valid",
                )
            },
        ),
        (
            "a CA certificate as the attestation's",
            vendor(&[LEAF_CA, INTERMEDIATE]),
            ROOT,
            T0,
            |e| {
                *e == WebAuthnError::UntrustedAttestation(
                    "the attestation certificate is a certificate authority's",
                )
            },
        ),
        (
            "the wrong unit",
            vendor(&[LEAF_WRONG_UNIT, INTERMEDIATE]),
            ROOT,
            T0,
            |e| matches!(e, WebAuthnError::Attestation(why) if why.contains("Authenticator Attestation")),
        ),
        (
            "a certificate for another model",
            vendor(&[LEAF_OTHER_MODEL, INTERMEDIATE]),
            ROOT,
            T0,
            |e| matches!(e, WebAuthnError::Attestation(why) if why.contains("another model")),
        ),
        (
            "a signature by another key than the certificate's",
            vendor(&[INTERMEDIATE]),
            ROOT,
            T0,
            |e| matches!(e, WebAuthnError::Attestation(why) if why.contains("signature does not verify")),
        ),
        (
            "an empty chain",
            vendor(&[]),
            ROOT,
            T0,
            |e| matches!(e, WebAuthnError::Attestation(why) if why.contains("x5c")),
        ),
        (
            "junk for a certificate",
            vendor(&[b"not a certificate"]),
            ROOT,
            T0,
            |e| matches!(e, WebAuthnError::Attestation(why) if why.contains("does not parse")),
        ),
    ];
    for (why, attestation, roots, at, expected) in cases {
        let f = Fixture::new(&policy("required", roots, ""));
        match register(&f, attestation, at) {
            Err(Error::Passkey(PasskeyError::Refused(e))) => {
                assert!(expected(&e), "{why}: refused for the wrong reason: {e}")
            }
            other => panic!("{why}: not refused as it should be: {other:?}"),
        }
        assert_eq!(passkeys(&f), 0, "{why}: nothing registered");
        assert!(
            f.events()
                .iter()
                .any(|k| matches!(k, AuditKind::PasskeyRefused { reason } if reason.contains("attestation"))),
            "{why}: the refusal is audited"
        );
    }
}

#[test]
fn with_attestation_required_the_allow_list_checks_the_vendors_word() {
    let other = "allowed_aaguids = [\"00112233-4455-6677-8899-aabbccddeeff\"]\n";
    let f = Fixture::new(&policy("required", ROOT, other));
    assert!(matches!(
        register(&f, vendor(&[LEAF, INTERMEDIATE]), T0),
        Err(Error::Passkey(PasskeyError::ModelNotAllowed(m))) if m == MODEL
    ));
    let ours = format!("allowed_aaguids = [\"{MODEL}\"]\n");
    let f = Fixture::new(&policy("required", ROOT, &ours));
    register(&f, vendor(&[LEAF, INTERMEDIATE]), T0).unwrap();
    assert_eq!(passkeys(&f), 1);
}

#[test]
fn without_the_requirement_a_chain_is_checked_as_far_as_it_goes() {
    // No roots to chain to: the certificate's own signature and FIDO's rules
    // still hold, and no attestation at all is fine.
    let f = Fixture::new(&policy("none", "", ""));
    let options = f
        .engine()
        .passkey_registration_options("alice", "", T0, &mut SeededRandom::new(1))
        .unwrap();
    let json: serde_json::Value = serde_json::from_str(&options).unwrap();
    assert_eq!(json["attestation"], "none");
    assert!(json.get("attestationFormats").is_none());
    register(&f, vendor(&[LEAF]), T0).unwrap();
    let f = Fixture::new(&policy("none", "", ""));
    assert!(matches!(
        register(&f, vendor(&[INTERMEDIATE]), T0),
        Err(Error::Passkey(PasskeyError::Refused(
            WebAuthnError::Attestation(_)
        )))
    ));
    let f = Fixture::new(&policy("none", "", ""));
    register(&f, SoftAttestation::SelfSigned, T0).unwrap();
}

#[test]
fn the_policy_says_which_roots_it_cannot_read() {
    let err = Policy::from_toml(&policy("required", "", "")).unwrap_err();
    assert!(
        err.to_string()
            .contains("attestation_roots lists no vendor"),
        "{err}"
    );
    let broken = ROOT.replace("-----END CERTIFICATE-----", "");
    let err = Policy::from_toml(&policy("required", &broken, "")).unwrap_err();
    assert!(
        err.to_string().contains("certificate 1 has no END line"),
        "{err}"
    );
    let corrupt = format!(
        "{ROOT}-----BEGIN CERTIFICATE-----\nMIIBkzCCATqgAwIBAgIC\n-----END CERTIFICATE-----\n"
    );
    let err = Policy::from_toml(&policy("required", &corrupt, "")).unwrap_err();
    assert!(err.to_string().contains("certificate 2 is not"), "{err}");
    let err = Policy::from_toml(&policy("required", "just words", "")).unwrap_err();
    assert!(
        err.to_string().contains("no -----BEGIN CERTIFICATE-----"),
        "{err}"
    );
    let both = format!("# Planasonix Test Vendor\n{ROOT}\n# Other\n{OTHER_ROOT}");
    Policy::from_toml(&policy("required", &both, "")).unwrap();
}
