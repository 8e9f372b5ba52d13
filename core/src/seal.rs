//! Secrets at rest: ChaCha20-Poly1305 sealing under the host's seal key.
//!
//! Each sealed value carries its own random nonce and is bound (as associated
//! data) to the record and field it belongs to, so a ciphertext copied from one
//! user's record to another's does not open.
//!
//! Three more keys are derived from the seal key, one per purpose: one
//! authenticates whole records ([`SealKey::record_tag`]), one peppers
//! recovery-code hashes and one SMS-code hashes ([`Pepper`]), so that neither
//! a writer without the key nor a copy of the database can forge a record or
//! test a code offline.

use crate::codec::b64;
use crate::random::{Random, RandomError};
use crate::secret::{SecretBytes, SecretString};
use core::fmt;
use data_encoding::BASE64;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305, NONCE_LEN};
use ring::hmac;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// Length of a seal key in bytes.
pub const SEAL_KEY_LEN: usize = 32;

/// First word of a key file, so a wrong file is recognised as such.
const KEY_FILE_TAG: &str = "planasonix-seal-key-v1";

/// First word of a key's check value ([`SealKey::check_value`]).
pub const CHECK_VALUE_TAG: &str = "planasonix-seal-key-check-v1";

/// Store key under which a shared store keeps its fleet key's check value.
pub const CHECK_VALUE_KEY: &str = "meta/seal-key-check";

/// Why sealing, opening or reading a key failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SealError {
    /// The key text is not `planasonix-seal-key-v1 <base64 of 32 bytes>`.
    KeyFormat,
    /// A sealed value did not open: wrong key, or the record was altered.
    Open,
    /// No randomness for a nonce.
    Random,
}

impl fmt::Display for SealError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SealError::KeyFormat => write!(
                f,
                "seal key is malformed (expected `{KEY_FILE_TAG} <base64 of {SEAL_KEY_LEN} bytes>`)"
            ),
            SealError::Open => f.write_str(
                "a sealed secret did not open: the seal key is not the one it was sealed with, or the record was altered",
            ),
            SealError::Random => f.write_str("no randomness for a nonce"),
        }
    }
}

impl From<RandomError> for SealError {
    fn from(_: RandomError) -> Self {
        SealError::Random
    }
}

/// The AEAD key that seals TOTP secrets and phone numbers.
pub struct SealKey {
    key: LessSafeKey,
    bytes: SecretBytes,
    record_mac: hmac::Key,
    recovery_pepper: hmac::Key,
    sms_pepper: hmac::Key,
}

/// A key for one purpose, derived from the seal key (HMAC-SHA256 as the PRF).
fn derive(bytes: &[u8], purpose: &str) -> hmac::Key {
    let root = hmac::Key::new(hmac::HMAC_SHA256, bytes);
    let sub = Zeroizing::new(hmac::sign(&root, purpose.as_bytes()).as_ref().to_vec());
    hmac::Key::new(hmac::HMAC_SHA256, &sub)
}

/// What a [`Pepper`] binds a code to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PepperFor {
    /// Recovery codes.
    Recovery,
    /// SMS codes.
    Sms,
}

/// Binds a code to its user under a key derived from the seal key: the input
/// of a stored code's hash, so the hashes in a copied database cannot be
/// tested against guesses without the key, nor moved to another user.
#[derive(Clone, Copy)]
pub struct Pepper<'a> {
    key: &'a hmac::Key,
    user: &'a str,
}

impl fmt::Debug for Pepper<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pepper")
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

impl Pepper<'_> {
    /// `HMAC(pepper key, user || 0 || parts...)`.
    pub fn mix(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut ctx = hmac::Context::with_key(self.key);
        ctx.update(self.user.as_bytes());
        ctx.update(&[0]);
        for p in parts {
            ctx.update(p);
        }
        let mut out = [0u8; 32];
        out.copy_from_slice(ctx.sign().as_ref());
        out
    }
}

impl fmt::Debug for SealKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SealKey([REDACTED])")
    }
}

impl SealKey {
    /// A key from exactly [`SEAL_KEY_LEN`] bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<SealKey, SealError> {
        if bytes.len() != SEAL_KEY_LEN {
            return Err(SealError::KeyFormat);
        }
        let unbound =
            UnboundKey::new(&CHACHA20_POLY1305, bytes).map_err(|_| SealError::KeyFormat)?;
        Ok(SealKey {
            key: LessSafeKey::new(unbound),
            bytes: SecretBytes::new(bytes.to_vec()),
            record_mac: derive(bytes, "planasonix/v3/record-mac"),
            recovery_pepper: derive(bytes, "planasonix/v3/recovery-pepper"),
            sms_pepper: derive(bytes, "planasonix/v3/sms-pepper"),
        })
    }

    /// The pepper for `user`'s codes of one kind.
    pub fn pepper<'a>(&'a self, what: PepperFor, user: &'a str) -> Pepper<'a> {
        let key = match what {
            PepperFor::Recovery => &self.recovery_pepper,
            PepperFor::Sms => &self.sms_pepper,
        };
        Pepper { key, user }
    }

    /// The tag that authenticates a whole stored record: its encoding `body`,
    /// bound to its store key and the schema version.
    pub fn record_tag(&self, schema: u32, store_key: &str, body: &[u8]) -> [u8; 32] {
        let mut ctx = hmac::Context::with_key(&self.record_mac);
        ctx.update(&schema.to_be_bytes());
        ctx.update(&(store_key.len() as u64).to_be_bytes());
        ctx.update(store_key.as_bytes());
        ctx.update(body);
        let mut out = [0u8; 32];
        out.copy_from_slice(ctx.sign().as_ref());
        out
    }

    /// Whether `tag` authenticates `body` under `store_key` (constant time).
    pub fn record_tag_matches(
        &self,
        schema: u32,
        store_key: &str,
        body: &[u8],
        tag: &[u8],
    ) -> bool {
        use subtle::ConstantTimeEq;
        self.record_tag(schema, store_key, body).ct_eq(tag).into()
    }

    /// What tells two keys apart without giving either away:
    /// `planasonix-seal-key-check-v1 <base64 of an HMAC under a key derived
    /// for this purpose>`. A shared store keeps the fleet key's one
    /// ([`CHECK_VALUE_KEY`]); a host whose key gives another is refused
    /// before it writes a record the others cannot read. It is public: the
    /// key cannot be recovered from it, nor a code tested against it.
    pub fn check_value(&self) -> String {
        let key = derive(self.bytes.expose(), "planasonix/v3/key-check");
        let tag = hmac::sign(&key, CHECK_VALUE_TAG.as_bytes());
        format!("{CHECK_VALUE_TAG} {}", BASE64.encode(tag.as_ref()))
    }

    /// A fresh random key.
    pub fn generate(rng: &mut dyn Random) -> Result<SealKey, SealError> {
        let mut bytes = Zeroizing::new([0u8; SEAL_KEY_LEN]);
        rng.fill(bytes.as_mut())?;
        SealKey::from_bytes(bytes.as_ref())
    }

    /// Parses key-file text: `planasonix-seal-key-v1 <base64>` and a newline.
    pub fn from_key_text(text: &[u8]) -> Result<SealKey, SealError> {
        let text = core::str::from_utf8(text).map_err(|_| SealError::KeyFormat)?;
        let mut words = text.split_whitespace();
        if words.next() != Some(KEY_FILE_TAG) {
            return Err(SealError::KeyFormat);
        }
        let body = words.next().ok_or(SealError::KeyFormat)?;
        if words.next().is_some() {
            return Err(SealError::KeyFormat);
        }
        let bytes = Zeroizing::new(
            BASE64
                .decode(body.as_bytes())
                .map_err(|_| SealError::KeyFormat)?,
        );
        SealKey::from_bytes(&bytes)
    }

    /// The key-file text for this key (secret!).
    pub fn to_key_text(&self) -> SecretString {
        SecretString::new(format!(
            "{KEY_FILE_TAG} {}\n",
            BASE64.encode(self.bytes.expose())
        ))
    }

    /// Seals `plaintext`, bound to `context` (e.g. `user/alice/totp`).
    pub fn seal(
        &self,
        rng: &mut dyn Random,
        context: &str,
        plaintext: &[u8],
    ) -> Result<Sealed, SealError> {
        let mut nonce = [0u8; NONCE_LEN];
        rng.fill(&mut nonce)?;
        let mut buf = plaintext.to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(context.as_bytes()),
                &mut buf,
            )
            .map_err(|_| SealError::Open)?;
        Ok(Sealed {
            nonce: nonce.to_vec(),
            ciphertext: buf,
        })
    }

    /// Opens a value sealed for `context`.
    pub fn open(&self, context: &str, sealed: &Sealed) -> Result<SecretBytes, SealError> {
        let nonce: [u8; NONCE_LEN] = sealed
            .nonce
            .as_slice()
            .try_into()
            .map_err(|_| SealError::Open)?;
        let mut buf = Zeroizing::new(sealed.ciphertext.clone());
        let plain = self
            .key
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(context.as_bytes()),
                &mut buf,
            )
            .map_err(|_| SealError::Open)?;
        Ok(SecretBytes::new(plain.to_vec()))
    }
}

/// A sealed value as stored: nonce and ciphertext-with-tag.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sealed {
    #[serde(with = "b64")]
    nonce: Vec<u8>,
    #[serde(with = "b64")]
    ciphertext: Vec<u8>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::SeededRandom;

    #[test]
    fn round_trips_and_binds_context() {
        let mut rng = SeededRandom::new(1);
        let key = SealKey::generate(&mut rng).unwrap();
        let sealed = key.seal(&mut rng, "user/alice/totp", b"secret!").unwrap();
        assert_eq!(
            key.open("user/alice/totp", &sealed).unwrap().expose(),
            b"secret!"
        );
        assert_eq!(key.open("user/bob/totp", &sealed), Err(SealError::Open));
        let other = SealKey::generate(&mut rng).unwrap();
        assert_eq!(other.open("user/alice/totp", &sealed), Err(SealError::Open));
    }

    #[test]
    fn tampering_is_detected() {
        let mut rng = SeededRandom::new(2);
        let key = SealKey::generate(&mut rng).unwrap();
        let mut sealed = key.seal(&mut rng, "c", b"secret!").unwrap();
        sealed.ciphertext[0] ^= 1;
        assert_eq!(key.open("c", &sealed), Err(SealError::Open));
    }

    #[test]
    fn key_text_round_trips_and_rejects_garbage() {
        let key = SealKey::generate(&mut SeededRandom::new(3)).unwrap();
        let text = key.to_key_text();
        let again = SealKey::from_key_text(text.expose().as_bytes()).unwrap();
        let sealed = key.seal(&mut SeededRandom::new(4), "c", b"x").unwrap();
        assert!(again.open("c", &sealed).is_ok());
        for bad in [
            &b""[..],
            b"planasonix-seal-key-v1",
            b"planasonix-seal-key-v1 AAAA",
            b"\xff\xfe",
            b"other-tag AAAA",
        ] {
            assert_eq!(
                SealKey::from_key_text(bad).err(),
                Some(SealError::KeyFormat)
            );
        }
    }

    /// The cases the identity provider's parser is checked against too
    /// (idp/test/unit.test.mjs): the same file, the same answers.
    #[test]
    fn the_shared_key_texts_get_the_answers_they_name() {
        let table: serde_json::Value =
            serde_json::from_str(include_str!("../../tests/seal-key-texts.json")).unwrap();
        let cases = table["cases"].as_array().unwrap();
        assert!(cases.len() >= 12, "the table lost its cases");
        for case in cases {
            let why = case["why"].as_str().unwrap();
            let parsed = SealKey::from_key_text(case["text"].as_str().unwrap().as_bytes());
            match (case["expect"].as_str().unwrap(), parsed) {
                ("ok", Ok(key)) => assert_eq!(key.check_value(), case["check"], "{why}"),
                ("format", Err(SealError::KeyFormat)) => {}
                (want, got) => panic!("{why}: want {want}, got {:?}", got.err()),
            }
        }
    }

    #[test]
    fn the_check_value_tells_keys_apart_and_shows_none_of_the_key() {
        let key = SealKey::generate(&mut SeededRandom::new(5)).unwrap();
        let same = SealKey::from_key_text(key.to_key_text().expose().as_bytes()).unwrap();
        let other = SealKey::generate(&mut SeededRandom::new(6)).unwrap();
        let check = key.check_value();
        assert_eq!(check, same.check_value());
        assert_ne!(check, other.check_value());
        assert!(
            check.starts_with("planasonix-seal-key-check-v1 "),
            "{check}"
        );
        let key_b64 = key
            .to_key_text()
            .expose()
            .split_whitespace()
            .nth(1)
            .unwrap()
            .to_owned();
        assert!(!check.contains(&key_b64));
        // Not any of the keys the records are tagged or peppered with.
        let words: Vec<_> = check.split(' ').collect();
        assert_eq!(words.len(), 2);
        assert_eq!(BASE64.decode(words[1].as_bytes()).unwrap().len(), 32);
        // The vector the identity provider's test checks too (idp/src/mfa/pg.mjs).
        let fixed = SealKey::from_bytes(&(0u8..32).collect::<Vec<_>>()).unwrap();
        assert_eq!(
            fixed.check_value(),
            "planasonix-seal-key-check-v1 tZ9ZmiZCFfGsT5Glo9Ta7MXak45ClSZo1T2E8qIusyo="
        );
    }
}
