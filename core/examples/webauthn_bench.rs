//! Passkey verification against the bare cryptography it must do (issue 29's
//! benchmark "native passkey verify ≤ 2× the bare cryptography"): one ES256
//! assertion, verified in full by `planasonix_core::webauthn` (client data
//! JSON, challenge, origin, authenticator data, flags, counter, signature),
//! against what no verifier can skip: SHA-256 of the RP ID and of the client
//! data, and one ECDSA P-256 verification with ring. The two take turns in
//! rounds; the ratio is the median of the rounds' own ratios. Run by
//! scripts/bench.sh:
//!   cargo run --release -p planasonix-core --example webauthn_bench [ROUNDS]
// A benchmark prints its figures; its authenticator draws keys from the OS.
#![allow(
    clippy::print_stdout,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::disallowed_methods
)]

use data_encoding::BASE64URL_NOPAD;
use planasonix_core::webauthn::{
    verify_assertion, Credential, PublicKey, RelyingParty, UserVerification,
};
use ring::digest::{digest, SHA256};
use ring::rand::SystemRandom;
use ring::signature::{
    EcdsaKeyPair, KeyPair, UnparsedPublicKey, ECDSA_P256_SHA256_ASN1,
    ECDSA_P256_SHA256_ASN1_SIGNING,
};
use std::hint::black_box;
use std::time::Instant;

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .map(|r| r.parse().expect("ROUNDS is a number"))
        .unwrap_or(20);
    let per_round = 500;
    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
    let key =
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref(), &rng).unwrap();
    let point = key.public_key().as_ref().to_vec();
    let rp = RelyingParty {
        id: "example.com".into(),
        origins: vec!["https://login.example.com".into()],
    };
    let challenge = [7u8; 32];
    let client = format!(
        r#"{{"type":"webauthn.get","challenge":"{}","origin":"https://login.example.com","crossOrigin":false}}"#,
        BASE64URL_NOPAD.encode(&challenge)
    );
    let mut auth = digest(&SHA256, rp.id.as_bytes()).as_ref().to_vec();
    auth.push(0x05);
    auth.extend(9u32.to_be_bytes());
    let signed = [auth.as_slice(), digest(&SHA256, client.as_bytes()).as_ref()].concat();
    let signature = key.sign(&rng, &signed).unwrap().as_ref().to_vec();
    let credential = Credential {
        id: b"credential".to_vec(),
        public_key: PublicKey::Es256 {
            point: point.clone(),
        },
        aaguid: [0; 16],
        sign_count: 8,
        backup_eligible: false,
    };

    let full = || {
        verify_assertion(
            &rp,
            &credential,
            &challenge,
            client.as_bytes(),
            &auth,
            &signature,
            UserVerification::Required,
        )
        .unwrap()
    };
    let bare = || {
        let rp_hash = digest(&SHA256, rp.id.as_bytes());
        let client_hash = digest(&SHA256, client.as_bytes());
        black_box(rp_hash);
        let message = [auth.as_slice(), client_hash.as_ref()].concat();
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, &point)
            .verify(&message, &signature)
            .unwrap();
    };
    // Warm both.
    for _ in 0..50 {
        black_box(full());
        bare();
    }
    let mut ratios = Vec::new();
    let (mut full_ns, mut bare_ns) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        let t = Instant::now();
        for _ in 0..per_round {
            black_box(full());
        }
        let f = t.elapsed().as_nanos() as f64 / per_round as f64;
        let t = Instant::now();
        for _ in 0..per_round {
            bare();
        }
        let b = t.elapsed().as_nanos() as f64 / per_round as f64;
        ratios.push(f / b);
        full_ns.push(f);
        bare_ns.push(b);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(|a, b| a.total_cmp(b));
        v[v.len() / 2]
    };
    println!(
        "webauthn verify (ES256 assertion): full {:.1} us, bare cryptography {:.1} us, ratio {:.2} (goal <= 2)",
        median(&mut full_ns) / 1000.0,
        median(&mut bare_ns) / 1000.0,
        median(&mut ratios)
    );
}
