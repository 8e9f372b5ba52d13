//! Registrations and assertions built as authenticators build them, signed
//! with keys made here (ES256, EdDSA) or by openssl (the RS256 vector), then
//! broken one way at a time, as an attacker or a faulty authenticator would.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
// The authenticators' keys below are drawn from the OS: they play the
// authenticator, outside the engine; the engine's own code never draws
// randomness (it takes a `Random`).
#![allow(clippy::disallowed_methods)]

use super::*;
use ciborium::value::Value;
use data_encoding::{BASE64URL_NOPAD, HEXLOWER};
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, Ed25519KeyPair, KeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};

const ORIGIN: &str = "https://login.example.com";
const CHALLENGE: &[u8] = b"a fresh 32-byte challenge, once!";
use super::auth_data::bits::{AT, BE, BS, ED, UP, UV};
use crate::testing::authenticator::{cbor, int};

fn rp() -> RelyingParty {
    RelyingParty {
        id: "example.com".into(),
        origins: vec![ORIGIN.into()],
    }
}

fn client_data(kind: &str, challenge: &[u8], origin: &str) -> Vec<u8> {
    format!(
        r#"{{"type":"{kind}","challenge":"{}","origin":"{origin}","crossOrigin":false}}"#,
        BASE64URL_NOPAD.encode(challenge)
    )
    .into_bytes()
}

/// An authenticator: a key pair that signs as one would.
enum Key {
    Es256(EcdsaKeyPair),
    Ed25519(Ed25519KeyPair),
}

impl Key {
    fn es256() -> Key {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
        Key::Es256(
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref(), &rng)
                .unwrap(),
        )
    }

    fn ed25519() -> Key {
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
        Key::Ed25519(Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap())
    }

    fn cose(&self) -> Value {
        match self {
            Key::Es256(k) => {
                let p = k.public_key().as_ref();
                Value::Map(vec![
                    (int(1), int(2)),
                    (int(3), int(-7)),
                    (int(-1), int(1)),
                    (int(-2), Value::Bytes(p[1..33].to_vec())),
                    (int(-3), Value::Bytes(p[33..65].to_vec())),
                ])
            }
            Key::Ed25519(k) => Value::Map(vec![
                (int(1), int(1)),
                (int(3), int(-8)),
                (int(-1), int(6)),
                (int(-2), Value::Bytes(k.public_key().as_ref().to_vec())),
            ]),
        }
    }

    fn alg(&self) -> i64 {
        match self {
            Key::Es256(_) => -7,
            Key::Ed25519(_) => -8,
        }
    }

    fn sign(&self, message: &[u8]) -> Vec<u8> {
        match self {
            Key::Es256(k) => k
                .sign(&SystemRandom::new(), message)
                .unwrap()
                .as_ref()
                .to_vec(),
            Key::Ed25519(k) => k.sign(message).as_ref().to_vec(),
        }
    }

    /// What the authenticator signs: its data and the client data's hash.
    fn sign_over(&self, auth_data: &[u8], client_data: &[u8]) -> Vec<u8> {
        let hash = ring::digest::digest(&ring::digest::SHA256, client_data);
        self.sign(&[auth_data, hash.as_ref()].concat())
    }
}

fn auth_data(rp_id: &str, flags: u8, count: u32, attested: Option<(&[u8], &Value)>) -> Vec<u8> {
    let mut out = ring::digest::digest(&ring::digest::SHA256, rp_id.as_bytes())
        .as_ref()
        .to_vec();
    out.push(flags);
    out.extend(count.to_be_bytes());
    if let Some((id, key)) = attested {
        out.extend([0x11; 16]);
        out.extend(u16::try_from(id.len()).unwrap().to_be_bytes());
        out.extend(id);
        out.extend(cbor(key));
    }
    out
}

fn attestation(format: &str, statement: Vec<(Value, Value)>, auth_data: &[u8]) -> Vec<u8> {
    cbor(&Value::Map(vec![
        (Value::Text("fmt".into()), Value::Text(format.into())),
        (Value::Text("attStmt".into()), Value::Map(statement)),
        (
            Value::Text("authData".into()),
            Value::Bytes(auth_data.to_vec()),
        ),
    ]))
}

/// Registers `key` with a "none" attestation.
fn register(key: &Key, flags: u8) -> Registered {
    let data = auth_data(
        "example.com",
        flags | AT,
        0,
        Some((b"credential-1", &key.cose())),
    );
    verify_registration(
        &rp(),
        CHALLENGE,
        &client_data("webauthn.create", CHALLENGE, ORIGIN),
        &attestation("none", vec![], &data),
        UserVerification::Preferred,
        AttestationCheck::Optional,
    )
    .unwrap()
}

/// An assertion of `key` with `flags` and `count`, and what it verifies to.
fn assert_with(
    key: &Key,
    credential: &Credential,
    flags: u8,
    count: u32,
    uv: UserVerification,
) -> Result<Asserted, WebAuthnError> {
    let data = auth_data("example.com", flags, count, None);
    let client = client_data("webauthn.get", CHALLENGE, ORIGIN);
    let sig = key.sign_over(&data, &client);
    verify_assertion(&rp(), credential, CHALLENGE, &client, &data, &sig, uv)
}

#[test]
fn es256_and_eddsa_register_with_none_and_sign_in() {
    for key in [Key::es256(), Key::ed25519()] {
        let registered = register(&key, UP | UV);
        assert_eq!(registered.attestation, "none");
        assert!(registered.user_verified);
        assert_eq!(registered.credential.id, b"credential-1");
        assert_eq!(registered.credential.aaguid, [0x11; 16]);
        assert_eq!(
            registered.credential.public_key.algorithm().number(),
            key.alg()
        );
        let asserted = assert_with(
            &key,
            &registered.credential,
            UP | UV,
            1,
            UserVerification::Required,
        )
        .unwrap();
        assert_eq!(
            asserted,
            Asserted {
                sign_count: 1,
                user_verified: true,
                backed_up: false
            }
        );
    }
}

#[test]
fn a_packed_self_attestation_is_verified_with_the_credentials_own_key() {
    let key = Key::ed25519();
    let data = auth_data("example.com", UP | AT, 0, Some((b"c", &key.cose())));
    let client = client_data("webauthn.create", CHALLENGE, ORIGIN);
    let statement = |alg: i64, sig: Vec<u8>| {
        vec![
            (Value::Text("alg".into()), int(alg)),
            (Value::Text("sig".into()), Value::Bytes(sig)),
        ]
    };
    let register = |statement| {
        verify_registration(
            &rp(),
            CHALLENGE,
            &client,
            &attestation("packed", statement, &data),
            UserVerification::Preferred,
            AttestationCheck::Optional,
        )
    };
    let good = key.sign_over(&data, &client);
    assert_eq!(
        register(statement(-8, good.clone())).unwrap().attestation,
        "packed"
    );
    let other = Key::ed25519().sign_over(&data, &client);
    assert!(matches!(
        register(statement(-8, other)),
        Err(WebAuthnError::Attestation(_))
    ));
    assert!(matches!(
        register(statement(-7, good.clone())),
        Err(WebAuthnError::Attestation(_))
    ));
    let mut with_chain = statement(-8, good);
    with_chain.push((
        Value::Text("x5c".into()),
        Value::Array(vec![Value::Bytes(vec![0x30])]),
    ));
    // A chain is the vendor's: its junk certificate is refused (chains
    // that read are core/tests/attestation.rs's).
    assert!(matches!(
        register(with_chain),
        Err(WebAuthnError::Attestation(why)) if why.contains("does not parse")
    ));
    assert_eq!(
        verify_registration(
            &rp(),
            CHALLENGE,
            &client,
            &attestation("tpm", vec![], &data),
            UserVerification::Preferred,
            AttestationCheck::Optional
        ),
        Err(WebAuthnError::UnsupportedAttestation("tpm".into()))
    );
    assert!(matches!(
        verify_registration(
            &rp(),
            CHALLENGE,
            &client,
            &attestation("none", statement(-8, vec![1]), &data),
            UserVerification::Preferred,
            AttestationCheck::Optional
        ),
        Err(WebAuthnError::Attestation(_))
    ));
}

#[test]
fn a_phished_replayed_or_misdirected_assertion_is_refused() {
    let key = Key::es256();
    let credential = register(&key, UP).credential;
    let data = auth_data("example.com", UP, 1, None);
    let check = |client: &[u8], data: &[u8], challenge: &[u8]| {
        let sig = key.sign_over(data, client);
        verify_assertion(
            &rp(),
            &credential,
            challenge,
            client,
            data,
            &sig,
            UserVerification::Preferred,
        )
    };
    // A look-alike domain relaying the ceremony: the browser writes the origin.
    assert_eq!(
        check(
            &client_data("webauthn.get", CHALLENGE, "https://login.examp1e.com"),
            &data,
            CHALLENGE
        ),
        Err(WebAuthnError::OriginNotAllowed(
            "https://login.examp1e.com".into()
        ))
    );
    // Signed for another relying party.
    let elsewhere = auth_data("evil.example", UP, 1, None);
    assert_eq!(
        check(
            &client_data("webauthn.get", CHALLENGE, ORIGIN),
            &elsewhere,
            CHALLENGE
        ),
        Err(WebAuthnError::RpIdMismatch)
    );
    // A response to an earlier challenge, replayed.
    assert_eq!(
        check(
            &client_data("webauthn.get", b"an earlier challenge, spent once", ORIGIN),
            &data,
            CHALLENGE
        ),
        Err(WebAuthnError::ChallengeMismatch)
    );
    assert_eq!(
        check(&client_data("webauthn.get", CHALLENGE, ORIGIN), &data, b""),
        Err(WebAuthnError::ChallengeMismatch)
    );
    // A registration's client data offered as an assertion's.
    assert!(matches!(
        check(
            &client_data("webauthn.create", CHALLENGE, ORIGIN),
            &data,
            CHALLENGE
        ),
        Err(WebAuthnError::WrongType {
            expected: "webauthn.get",
            ..
        })
    ));
    let framed = format!(
        r#"{{"type":"webauthn.get","challenge":"{}","origin":"{ORIGIN}","crossOrigin":true}}"#,
        BASE64URL_NOPAD.encode(CHALLENGE)
    );
    assert_eq!(
        check(framed.as_bytes(), &data, CHALLENGE),
        Err(WebAuthnError::CrossOrigin)
    );
    // A signature by another key, or over other data.
    let client = client_data("webauthn.get", CHALLENGE, ORIGIN);
    let forged = Key::es256().sign_over(&data, &client);
    assert_eq!(
        verify_assertion(
            &rp(),
            &credential,
            CHALLENGE,
            &client,
            &data,
            &forged,
            UserVerification::Preferred
        ),
        Err(WebAuthnError::BadSignature)
    );
    let sig = key.sign_over(&data, &client);
    let bumped = auth_data("example.com", UP, 2, None);
    assert_eq!(
        verify_assertion(
            &rp(),
            &credential,
            CHALLENGE,
            &client,
            &bumped,
            &sig,
            UserVerification::Preferred
        ),
        Err(WebAuthnError::BadSignature)
    );
}

#[test]
fn presence_verification_backup_flags_and_the_counter_are_held_to_the_policy() {
    let key = Key::es256();
    let mut credential = register(&key, UP).credential;
    assert_eq!(
        assert_with(&key, &credential, UV, 1, UserVerification::Discouraged),
        Err(WebAuthnError::UserNotPresent)
    );
    assert_eq!(
        assert_with(&key, &credential, UP, 1, UserVerification::Required),
        Err(WebAuthnError::UserNotVerified)
    );
    assert!(assert_with(&key, &credential, UP, 1, UserVerification::Preferred).is_ok());
    assert!(matches!(
        assert_with(&key, &credential, UP | BS, 1, UserVerification::Preferred),
        Err(WebAuthnError::Flags(_))
    ));
    assert!(matches!(
        assert_with(
            &key,
            &credential,
            UP | BE | BS,
            1,
            UserVerification::Preferred
        ),
        Err(WebAuthnError::Flags(_))
    ));
    // The counter must grow; 0 and 0 is an authenticator that keeps none.
    credential.sign_count = 5;
    for received in [5, 3, 0] {
        assert_eq!(
            assert_with(&key, &credential, UP, received, UserVerification::Preferred),
            Err(WebAuthnError::CounterRegressed {
                stored: 5,
                received
            })
        );
    }
    assert_eq!(
        assert_with(&key, &credential, UP, 6, UserVerification::Preferred)
            .unwrap()
            .sign_count,
        6
    );
    credential.sign_count = 0;
    assert_eq!(
        assert_with(&key, &credential, UP, 0, UserVerification::Preferred)
            .unwrap()
            .sign_count,
        0
    );
    // A synced passkey: backup eligible at registration, backed up later.
    let synced = register(&key, UP | BE).credential;
    assert!(synced.backup_eligible);
    assert!(
        assert_with(&key, &synced, UP | BE | BS, 1, UserVerification::Preferred)
            .unwrap()
            .backed_up
    );
}

#[test]
fn malformed_and_oversized_input_is_refused_by_name() {
    let key = Key::es256();
    let credential = register(&key, UP).credential;
    let client = client_data("webauthn.get", CHALLENGE, ORIGIN);
    let assertion = |data: &[u8]| {
        let sig = key.sign_over(data, &client);
        verify_assertion(
            &rp(),
            &credential,
            CHALLENGE,
            &client,
            data,
            &sig,
            UserVerification::Preferred,
        )
    };
    let data = auth_data("example.com", UP, 1, None);
    assert!(matches!(
        assertion(&data[..36]),
        Err(WebAuthnError::AuthenticatorData(_))
    ));
    assert!(matches!(
        assertion(&[data.as_slice(), &[0]].concat()),
        Err(WebAuthnError::AuthenticatorData(_))
    ));
    let mut with_extensions = auth_data("example.com", UP | ED, 1, None);
    with_extensions.extend(cbor(&Value::Map(vec![])));
    assert!(assertion(&with_extensions).is_ok());
    let mut bad_extensions = auth_data("example.com", UP | ED, 1, None);
    bad_extensions.extend(cbor(&int(1)));
    assert!(matches!(
        assertion(&bad_extensions),
        Err(WebAuthnError::AuthenticatorData(_))
    ));
    assert!(matches!(
        assertion(&auth_data("example.com", UP | ED, 1, None)),
        Err(WebAuthnError::Cbor(_))
    ));
    assert_eq!(
        assertion(&vec![0; MAX_AUTHENTICATOR_DATA + 1]),
        Err(WebAuthnError::TooLarge("authenticator data"))
    );
    let sig = key.sign_over(&data, &client);
    for hostile in [
        &b"not json"[..],
        br#"{"type":"webauthn.get"}"#,
        br#"{"type":"webauthn.get","challenge":"***","origin":"x"}"#,
    ] {
        assert!(matches!(
            verify_assertion(
                &rp(),
                &credential,
                CHALLENGE,
                hostile,
                &data,
                &sig,
                UserVerification::Preferred
            ),
            Err(WebAuthnError::ClientData(_))
        ));
    }
    let huge = vec![b' '; MAX_CLIENT_DATA + 1];
    assert_eq!(
        verify_assertion(
            &rp(),
            &credential,
            CHALLENGE,
            &huge,
            &data,
            &sig,
            UserVerification::Preferred
        ),
        Err(WebAuthnError::TooLarge("client data"))
    );

    // Registrations: keys and attestation objects that are not what they say.
    let create = client_data("webauthn.create", CHALLENGE, ORIGIN);
    let register_key = |cose: &Value| {
        let data = auth_data("example.com", UP | AT, 0, Some((b"c", cose)));
        verify_registration(
            &rp(),
            CHALLENGE,
            &create,
            &attestation("none", vec![], &data),
            UserVerification::Preferred,
            AttestationCheck::Optional,
        )
    };
    let unknown = Value::Map(vec![(int(1), int(2)), (int(3), int(-999))]);
    assert_eq!(
        register_key(&unknown),
        Err(WebAuthnError::UnsupportedAlgorithm(-999))
    );
    let Value::Map(mut mixed) = key.cose() else {
        unreachable!()
    };
    mixed[1] = (int(3), int(-8));
    assert!(matches!(
        register_key(&Value::Map(mixed)),
        Err(WebAuthnError::BadKey(_))
    ));
    let Value::Map(mut short) = key.cose() else {
        unreachable!()
    };
    short[3] = (int(-2), Value::Bytes(vec![1; 31]));
    assert!(matches!(
        register_key(&Value::Map(short)),
        Err(WebAuthnError::BadKey(_))
    ));
    let Value::Map(mut twice) = key.cose() else {
        unreachable!()
    };
    twice.push((int(-2), Value::Bytes(vec![1; 32])));
    assert!(matches!(
        register_key(&Value::Map(twice)),
        Err(WebAuthnError::BadKey(_))
    ));
    let data = auth_data("example.com", UP | AT, 0, Some((b"c", &key.cose())));
    let truncated = &data[..data.len() - 5];
    assert!(matches!(
        verify_registration(
            &rp(),
            CHALLENGE,
            &create,
            &attestation("none", vec![], truncated),
            UserVerification::Preferred,
            AttestationCheck::Optional
        ),
        Err(WebAuthnError::Cbor(_) | WebAuthnError::AuthenticatorData(_))
    ));
    let no_credential = auth_data("example.com", UP, 0, None);
    assert_eq!(
        verify_registration(
            &rp(),
            CHALLENGE,
            &create,
            &attestation("none", vec![], &no_credential),
            UserVerification::Preferred,
            AttestationCheck::Optional
        ),
        Err(WebAuthnError::NoAttestedCredential)
    );
    let mut trailing = attestation("none", vec![], &data);
    trailing.push(0);
    assert!(matches!(
        verify_registration(
            &rp(),
            CHALLENGE,
            &create,
            &trailing,
            UserVerification::Preferred,
            AttestationCheck::Optional
        ),
        Err(WebAuthnError::Cbor(_))
    ));
    let twice = cbor(&Value::Map(vec![
        (Value::Text("fmt".into()), Value::Text("none".into())),
        (Value::Text("fmt".into()), Value::Text("none".into())),
        (Value::Text("attStmt".into()), Value::Map(vec![])),
        (Value::Text("authData".into()), Value::Bytes(data.clone())),
    ]));
    assert!(matches!(
        verify_registration(
            &rp(),
            CHALLENGE,
            &create,
            &twice,
            UserVerification::Preferred,
            AttestationCheck::Optional
        ),
        Err(WebAuthnError::Cbor(_))
    ));
    assert_eq!(
        verify_registration(
            &rp(),
            CHALLENGE,
            &create,
            &vec![0; MAX_ATTESTATION_OBJECT + 1],
            UserVerification::Preferred,
            AttestationCheck::Optional
        ),
        Err(WebAuthnError::TooLarge("attestation object"))
    );
    // Deeply nested CBOR where the key should be: refused, not a stack overflow.
    let mut nested = vec![0x81u8; 100_000];
    nested.push(0x00);
    let mut deep = auth_data("example.com", UP | AT, 0, None);
    deep.extend([0x11; 16]);
    deep.extend(1u16.to_be_bytes());
    deep.push(b'c');
    deep.extend(&nested[..MAX_ATTESTATION_OBJECT / 2]);
    assert!(verify_registration(
        &rp(),
        CHALLENGE,
        &create,
        &attestation("none", vec![], &deep),
        UserVerification::Preferred,
        AttestationCheck::Optional
    )
    .is_err());
}

#[test]
fn rs256_verifies_a_signature_made_by_openssl() {
    let n = HEXLOWER.decode(b"aaee19e032084e168ea34b344a09d2492800a9c885def11a8834c9ac3c19980dfdeb6151a0f1a77c8034fa70de668a4d4b64492be0f4f655a2343298b99d5f6f970caab4fbf8b58bcba0a54a66b7edddee2c85dd5416448a9485c0d5a265d31b1df1c8f267dd23c84ee2cde6ca662b27a2b308711b7526edf7870aea1c3ee717d910f562bb1cfb54ac3410d3864d49f75a51930c64915dd886e89bc677a6e5e0ab92dfd8302ad5d56ef340510a0856163bda5379ac5cb46bd18e558f872b6c7aaed5df49eebd8cdb514939d3cd3872bb8d1ca5dc2bfbb1014596b4d979a20ecc4bc18e1b27b747e0ca02b6f611978fd2c661fb4619a4af7246272a38e738826b").unwrap();
    let key = PublicKey::Rs256 {
        n: n.clone(),
        e: vec![1, 0, 1],
    };
    let sig = HEXLOWER.decode(b"11796b7f024dce2f5ba64b7f2fd3574a8571f8efe1dfc5a888fe2fa75ea2f13fb1cc3a0ec5f10de68a1dbeb038bfd643b034ce9fc225dca00c5168cdac6b513a8a3c70b7c99b00a03976bb8625fdb732c7600c4ed10a107a1b7a438bf9390316fa287989a411f420c75b5c9393797338bb636333eea70ac12185c644ce03eeb76513a908425d63e2150a0a09f655dc568503866acc987722223d80c65a3a1bc45e7e5246c4a9f7b322c96328f54f6c21456331c2772e09b513efe724a6550e76aef0c96701f8d152843d4088444aa51e7bcc78293915c5f7dd727e6a586bee7ff0fad75ed0b7ae4b241a3141855e3c458f91987fdfea3e9f3500b74962d87627").unwrap();
    assert_eq!(key.verify(b"planasonix rs256 vector", &sig), Ok(()));
    assert_eq!(
        key.verify(b"planasonix rs256 vectoR", &sig),
        Err(WebAuthnError::BadSignature)
    );
    let cose = Value::Map(vec![
        (int(1), int(3)),
        (int(3), int(-257)),
        (int(-1), Value::Bytes(n)),
        (int(-2), Value::Bytes(vec![1, 0, 1])),
    ]);
    assert_eq!(PublicKey::from_cose(&cose), Ok(key));
    let weak = Value::Map(vec![
        (int(1), int(3)),
        (int(3), int(-257)),
        (int(-1), Value::Bytes(vec![0xff; 128])),
        (int(-2), Value::Bytes(vec![1, 0, 1])),
    ]);
    assert!(matches!(
        PublicKey::from_cose(&weak),
        Err(WebAuthnError::BadKey(_))
    ));
}
