//! WebAuthn ceremonies recorded from Chromium's own authenticator
//! (`vectors/webauthn/chromium.json`, by idp/test/record_webauthn_vectors.mjs):
//! an encoder that is not ours, for ES256 and EdDSA, with and without user
//! verification. Each registration verifies, each assertion verifies in
//! order with the counter it carries, and the same bytes are refused where
//! a replay, another challenge or origin, or a stricter policy would be.

use data_encoding::BASE64URL_NOPAD;
use planasonix_core::webauthn::{
    verify_assertion, verify_registration, AttestationCheck, RelyingParty, UserVerification,
    WebAuthnError,
};
use serde_json::Value;

fn bytes(v: &Value) -> Vec<u8> {
    BASE64URL_NOPAD
        .decode(v.as_str().unwrap().as_bytes())
        .unwrap()
}

#[test]
fn chromiums_ceremonies_verify_and_their_replays_do_not() {
    let table: Value =
        serde_json::from_str(include_str!("vectors/webauthn/chromium.json")).unwrap();
    let vectors = table["vectors"].as_array().unwrap();
    assert!(vectors.len() >= 4, "the recording lost its vectors");
    for v in vectors {
        let why = v["why"].as_str().unwrap();
        let rp = RelyingParty {
            id: v["rp_id"].as_str().unwrap().into(),
            origins: vec![v["origin"].as_str().unwrap().into()],
        };
        let verified = v["user_verified"].as_bool().unwrap();
        let uv = if verified {
            UserVerification::Required
        } else {
            UserVerification::Discouraged
        };
        let r = &v["registration"];
        let registered = verify_registration(
            &rp,
            &bytes(&r["challenge"]),
            &bytes(&r["client_data"]),
            &bytes(&r["attestation_object"]),
            uv,
            AttestationCheck::Optional,
        )
        .unwrap_or_else(|e| panic!("{why}: {e}"));
        assert_eq!(registered.attestation, "none", "{why}");
        assert_eq!(registered.user_verified, verified, "{why}");
        assert_eq!(
            registered.credential.id,
            bytes(&r["credential_id"]),
            "{why}"
        );
        assert_eq!(
            registered.credential.public_key.algorithm().number(),
            v["alg"].as_i64().unwrap(),
            "{why}"
        );
        if !verified {
            assert_eq!(
                verify_registration(
                    &rp,
                    &bytes(&r["challenge"]),
                    &bytes(&r["client_data"]),
                    &bytes(&r["attestation_object"]),
                    UserVerification::Required,
                    AttestationCheck::Optional,
                ),
                Err(WebAuthnError::UserNotVerified),
                "{why}"
            );
        }

        let mut credential = registered.credential;
        let assertions = v["assertions"].as_array().unwrap();
        let check = |credential: &_, a: &Value, challenge: &[u8], rp: &RelyingParty, uv| {
            verify_assertion(
                rp,
                credential,
                challenge,
                &bytes(&a["client_data"]),
                &bytes(&a["authenticator_data"]),
                &bytes(&a["signature"]),
                uv,
            )
        };
        let first = &assertions[0];
        for a in assertions {
            let asserted = check(&credential, a, &bytes(&a["challenge"]), &rp, uv)
                .unwrap_or_else(|e| panic!("{why}: {e}"));
            assert_eq!(asserted.user_verified, verified, "{why}");
            credential.sign_count = asserted.sign_count;
        }
        // The first assertion again: its challenge was spent (the relying
        // party issues a new one), and its counter is behind.
        let second_challenge = bytes(&assertions[1]["challenge"]);
        assert_eq!(
            check(&credential, first, &second_challenge, &rp, uv),
            Err(WebAuthnError::ChallengeMismatch),
            "{why}"
        );
        if credential.sign_count > 0 {
            assert!(
                matches!(
                    check(&credential, first, &bytes(&first["challenge"]), &rp, uv),
                    Err(WebAuthnError::CounterRegressed { .. })
                ),
                "{why}"
            );
        }
        let elsewhere = RelyingParty {
            id: rp.id.clone(),
            origins: vec!["https://login.example.com".into()],
        };
        assert!(
            matches!(
                check(
                    &credential,
                    first,
                    &bytes(&first["challenge"]),
                    &elsewhere,
                    uv
                ),
                Err(WebAuthnError::OriginNotAllowed(_))
            ),
            "{why}"
        );
    }
}
