//! Checks for the core's parsers: policy text, code input, stored records.
//!
//! Shared by the fuzz targets and `core/tests/fuzz_regressions.rs` (included
//! there with `#[path]`): only `planasonix_core` and `std` may be used here.
//! Every check must hold for every input; a failed `assert!` is a bug found.

use planasonix_core::input::{CodeInput, InputError, MAX_CODE_INPUT};
use planasonix_core::record::{UserRecord, SCHEMA_VERSION};
use planasonix_core::recovery::{RECOVERY_ALPHABET, RECOVERY_CODE_LEN};
use planasonix_core::store::StoreError;
use planasonix_core::webauthn::{
    claimed_challenge, verify_assertion, verify_registration, AssertionResponse, AttestationCheck,
    AuthenticatorData, Credential, PublicKey, RegistrationResponse, RelyingParty, UserVerification,
    MAX_ATTESTATION_OBJECT, MAX_AUTHENTICATOR_DATA, MAX_CLIENT_DATA, MAX_CREDENTIAL_ID,
    MAX_SIGNATURE,
};
use planasonix_core::{Policy, UnixTime};

/// Target `policy_parse`: `Policy::from_toml` on any UTF-8 text.
///
/// A policy that parses renders (`to_toml`) to text that parses back to the
/// same policy, and renders again to the same text. A refused policy has an
/// error whose line (if any) is inside the text and whose `Display` works.
pub fn policy_parse(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Policy::from_toml(text) {
        Ok(policy) => {
            let rendered = policy.to_toml();
            let again = Policy::from_toml(&rendered);
            assert!(
                again.as_ref() == Ok(&policy),
                "the rendered policy does not parse back to the same policy: {again:?}\n--- rendered:\n{rendered}"
            );
            if let Ok(again) = again {
                assert_eq!(again.to_toml(), rendered, "rendering is not stable");
            }
            let _ = format!("{policy:?}");
        }
        Err(e) => {
            let shown = e.to_string();
            assert!(shown.starts_with("policy"), "{shown}");
            assert!(!e.message.is_empty(), "empty message: {e:?}");
            if let Some(line) = e.line {
                let lines = text.matches('\n').count() + 1;
                assert!(
                    (1..=lines).contains(&line),
                    "error on line {line} of a {lines}-line text: {e}"
                );
            }
        }
    }
}

/// Target `code_input`: `CodeInput::parse` on any bytes.
///
/// The classification is deterministic and consistent with the input (length,
/// UTF-8); a secret (digits, recovery code) is canonical, parses again to
/// itself, and never shows in `Debug`.
pub fn code_input(data: &[u8]) {
    let parsed = CodeInput::parse(data);
    assert_eq!(CodeInput::parse(data), parsed, "not deterministic");
    let shown = format!("{parsed:?} {parsed:#?}");
    // Only the engine knows the lengths of a user's codes.
    assert!(
        !matches!(parsed, Err(InputError::WrongLength { .. })),
        "parse judged a length: {parsed:?}"
    );
    if parsed.is_ok() {
        assert!(
            data.len() <= MAX_CODE_INPUT,
            "{} bytes accepted",
            data.len()
        );
    }
    // What was typed, for the leak check (only secrets reach this with Ok).
    let typed = std::str::from_utf8(data).map(str::trim).unwrap_or("");
    match &parsed {
        Ok(CodeInput::Digits(digits)) => {
            let d = digits.expose();
            assert!(
                !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()),
                "digits {d:?}"
            );
            assert!(!shown.contains(d), "Debug shows the code: {shown}");
            assert!(!shown.contains(typed), "Debug shows the input: {shown}");
            assert_eq!(CodeInput::parse(d.as_bytes()), parsed, "not canonical");
        }
        Ok(CodeInput::Recovery(code)) => {
            let r = code.expose();
            assert_eq!(r.len(), RECOVERY_CODE_LEN, "recovery code {r:?}");
            assert!(
                r.bytes().all(|b| RECOVERY_ALPHABET.contains(&b)),
                "recovery code {r:?}"
            );
            assert!(!shown.contains(r), "Debug shows the code: {shown}");
            assert!(!shown.contains(typed), "Debug shows the input: {shown}");
            // The canonical form parses to the same code, except that a code
            // made only of digits then reads as digits (see fuzz/README.md).
            let again = CodeInput::parse(r.as_bytes());
            let same = match &again {
                Ok(CodeInput::Recovery(a)) => a.expose() == r,
                Ok(CodeInput::Digits(a)) => {
                    a.expose() == r && r.bytes().all(|b| b.is_ascii_digit())
                }
                _ => false,
            };
            assert!(same, "canonical {r:?} parses as {again:?}");
        }
        Ok(CodeInput::SmsRequest) => {
            assert!(typed.eq_ignore_ascii_case("sms"), "{typed:?} read as `sms`");
        }
        Err(e) => {
            assert!(!e.to_string().is_empty());
            match e {
                InputError::TooLong => assert!(data.len() > MAX_CODE_INPUT),
                InputError::NotUtf8 => assert!(std::str::from_utf8(data).is_err()),
                InputError::Empty => assert!(typed.is_empty(), "{typed:?} read as empty"),
                _ => {}
            }
        }
    }
}

/// Target `record_decode`: `UserRecord::decode` on any bytes.
///
/// A record that decodes has this build's schema, and encodes to bytes that
/// decode to an equal record (and encode to the same bytes again). A refusal
/// is always `StoreError::Corrupt` naming the key.
pub fn record_decode(data: &[u8]) {
    const KEY: &str = "user/fuzz";
    match UserRecord::decode(KEY, data) {
        Ok(rec) => {
            assert_eq!(rec.schema, SCHEMA_VERSION);
            let bytes = rec.encode();
            let again = UserRecord::decode(KEY, &bytes);
            assert!(
                again.as_ref() == Ok(&rec),
                "re-encoded record decodes differently: {again:?}\n--- encoded:\n{}",
                String::from_utf8_lossy(&bytes)
            );
            if let Ok(again) = again {
                assert_eq!(again.encode(), bytes, "encoding is not stable");
            }
            // The cheap accessors the engine calls on every login.
            let _ = (
                rec.enrolled(),
                rec.factors(true, true),
                rec.factors(false, false),
            );
            let _ = rec.locked_until(UnixTime(u64::MAX));
            let _ = rec.mark_for("sshd", None);
            let _ = format!("{rec:?}");
        }
        Err(e) => {
            assert!(matches!(e, StoreError::Corrupt { .. }), "{e:?}");
            assert!(e.to_string().contains(KEY), "{e}");
        }
    }
}

/// WebAuthn's parsers on hostile bytes (the first byte picks one): the
/// authenticator data (with an attested credential and extensions), a whole
/// registration's attestation object, an assertion's client data. An
/// answer, never a panic; parsed authenticator data agrees with its flags.
pub fn webauthn_parse(data: &[u8]) {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let rp = RelyingParty {
        id: "example.com".into(),
        origins: vec!["https://login.example.com".into()],
    };
    let challenge = b"challenge";
    match which % 4 {
        3 => {
            // The browser's JSON: each part within its bound, or refused.
            if let Ok(r) = AssertionResponse::from_json(rest) {
                assert!(r.id.len() <= MAX_CREDENTIAL_ID && !r.id.is_empty());
                assert!(r.signature.len() <= MAX_SIGNATURE);
                assert!(r.authenticator_data.len() <= MAX_AUTHENTICATOR_DATA);
            }
            if let Ok(r) = RegistrationResponse::from_json(rest) {
                assert!(r.attestation_object.len() <= MAX_ATTESTATION_OBJECT);
                assert!(r.client_data_json.len() <= MAX_CLIENT_DATA);
            }
            let _ = claimed_challenge(rest);
        }
        0 => {
            if let Ok(parsed) = AuthenticatorData::parse(rest) {
                assert_eq!(parsed.attested.is_some(), parsed.flags.attested);
                assert!(rest.len() >= 37, "{} bytes parsed", rest.len());
            }
        }
        1 => {
            let client = br#"{"type":"webauthn.create","challenge":"Y2hhbGxlbmdl","origin":"https://login.example.com"}"#;
            if let Ok(registered) = verify_registration(
                &rp,
                challenge,
                client,
                rest,
                UserVerification::Preferred,
                AttestationCheck::Optional,
            ) {
                assert!(registered.credential.id.len() <= 1023);
            }
        }
        _ => {
            let credential = Credential {
                id: b"c".to_vec(),
                public_key: PublicKey::EdDsa { key: vec![0; 32] },
                aaguid: [0; 16],
                sign_count: 0,
                backup_eligible: false,
            };
            let auth = [[0u8; 32].as_slice(), &[1, 0, 0, 0, 1]].concat();
            // Random bytes cannot sign: nothing here may ever verify.
            assert!(verify_assertion(
                &rp,
                &credential,
                challenge,
                rest,
                &auth,
                &[0; 64],
                UserVerification::Preferred
            )
            .is_err());
        }
    }
}
