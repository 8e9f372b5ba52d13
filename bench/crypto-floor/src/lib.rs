//! The bare cryptography of one code check and of one passkey check,
//! written once and compiled twice: natively (the benchmark's baselines) and
//! as a component (the same work inside wasmtime). Their ratios are the
//! floors under the component's verify ratios: whatever else the engine
//! does, WebAssembly does this part no faster.

use ring::digest::{digest, SHA256};
use ring::signature::{Ed25519KeyPair, KeyPair, UnparsedPublicKey, ED25519};
use ring::{aead, hmac};
use std::sync::OnceLock;

/// What one check reads: client data of a browser's usual size, the
/// authenticator data (RP ID hash, flags, counter) and the signature over
/// them and the client data's hash, with the key that made it.
struct Inputs {
    client_data: Vec<u8>,
    auth_data: Vec<u8>,
    signature: Vec<u8>,
    public_key: Vec<u8>,
}

const RP_ID: &str = "example.com";

fn inputs() -> &'static Inputs {
    static INPUTS: OnceLock<Inputs> = OnceLock::new();
    INPUTS.get_or_init(|| {
        let client_data = br#"{"type":"webauthn.get","challenge":"q0d9cGbPwCVUeGUOaKdtXhJfh8f-2p8C0cXOVAxnAxI","origin":"https://login.example.com","crossOrigin":false}"#.to_vec();
        let mut auth_data = digest(&SHA256, RP_ID.as_bytes()).as_ref().to_vec();
        auth_data.push(0x05);
        auth_data.extend(7u32.to_be_bytes());
        // A fixed seed: the same key and signature in both builds.
        let key = Ed25519KeyPair::from_seed_unchecked(&[9; 32])
            .unwrap_or_else(|_| unreachable!("a 32-byte seed is always a key"));
        let signed = [&auth_data[..], digest(&SHA256, &client_data).as_ref()].concat();
        Inputs {
            signature: key.sign(&signed).as_ref().to_vec(),
            public_key: key.public_key().as_ref().to_vec(),
            client_data,
            auth_data,
        }
    })
}

/// Runs one passkey check's cryptography `n` times; gives how many
/// signatures verified.
pub fn passkey_crypto(n: u32) -> u32 {
    let i = inputs();
    let key = UnparsedPublicKey::new(&ED25519, &i.public_key);
    let mut verified = 0;
    for _ in 0..n {
        let client_hash = digest(&SHA256, &i.client_data);
        let rp_hash = digest(&SHA256, RP_ID.as_bytes());
        if rp_hash.as_ref() != &i.auth_data[..32] {
            continue;
        }
        let signed = [&i.auth_data[..], client_hash.as_ref()].concat();
        if key.verify(&signed, &i.signature).is_ok() {
            verified += 1;
        }
    }
    verified
}

/// The TOTP secret the code checks use.
const SECRET: &[u8] = b"benchmark-secret-0001";
/// A time step of the code checks.
const STEP: u64 = 1_800_000_000 / 30;

/// The cryptography one accepted code cannot do without, `n` times, with
/// ring: an HMAC-SHA1 for each step of the ±1 window, one AEAD open of the
/// sealed TOTP secret, and the record's authentication: an HMAC-SHA256 over
/// its `record_len` bytes to check it when read and one to tag it when
/// written. Gives a value made of the results, so none is left out.
pub fn totp_crypto(n: u32, record_len: u32) -> u32 {
    let mac = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, SECRET);
    let record_key = hmac::Key::new(hmac::HMAC_SHA256, &[5u8; 32]);
    let record = vec![b'r'; record_len as usize];
    let tag = hmac::sign(&record_key, &record);
    let Ok(unbound) = aead::UnboundKey::new(&aead::CHACHA20_POLY1305, &[7u8; 32]) else {
        return 0;
    };
    let aead_key = aead::LessSafeKey::new(unbound);
    let nonce = || aead::Nonce::assume_unique_for_key([1u8; 12]);
    let mut sealed = SECRET.to_vec();
    if aead_key
        .seal_in_place_append_tag(nonce(), aead::Aad::from(b"user/alice/totp"), &mut sealed)
        .is_err()
    {
        return 0;
    }
    let mut sink = 0u32;
    for i in 0..u64::from(n) {
        let step = STEP + i;
        for s in [step - 1, step, step + 1] {
            sink ^= u32::from(hmac::sign(&mac, &s.to_be_bytes()).as_ref()[0]);
        }
        let mut buf = sealed.clone();
        match aead_key.open_in_place(nonce(), aead::Aad::from(b"user/alice/totp"), &mut buf) {
            Ok(plain) => sink ^= u32::from(plain[0]),
            Err(_) => return 0,
        }
        sink ^= hmac::verify(&record_key, &record, tag.as_ref()).map_or(1, |()| 0);
        sink ^= u32::from(hmac::sign(&record_key, &record).as_ref()[0]);
    }
    sink
}

#[cfg(target_arch = "wasm32")]
#[allow(unsafe_code, clippy::undocumented_unsafe_blocks, missing_docs)]
mod bindings {
    wit_bindgen::generate!({ world: "crypto-floor", path: "wit" });

    struct Floor;

    impl Guest for Floor {
        fn passkey_crypto(n: u32) -> u32 {
            super::passkey_crypto(n)
        }
        fn totp_crypto(n: u32, record_len: u32) -> u32 {
            super::totp_crypto(n, record_len)
        }
    }

    export!(Floor);
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_check_verifies() {
        assert_eq!(super::passkey_crypto(3), 3);
    }
}
