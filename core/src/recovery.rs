//! Single-use recovery codes.
//!
//! A code is ten symbols from a 32-symbol alphabet without look-alikes (no `0/O`,
//! `1/I/L`), so 50 bits of entropy, shown as `7KQ2M-XW9PD`. Only a salted
//! PBKDF2-HMAC-SHA256 hash of each code is stored; a used code keeps its slot,
//! marked with the time it was spent, so the remaining count stays visible.

use crate::codec::b64;
use crate::random::{below, Random, RandomError};
use crate::seal::Pepper;
use crate::secret::SecretString;
use crate::time::UnixTime;
use core::num::NonZeroU32;
use ring::pbkdf2;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

mod stored_form;

/// The symbols a recovery code is made of.
pub const RECOVERY_ALPHABET: &[u8; 32] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";

/// Symbols in one recovery code (50 bits).
pub const RECOVERY_CODE_LEN: usize = 10;

/// PBKDF2 rounds for new sets. Codes carry 50 bits already; the rounds make an
/// offline search of a stolen database cost years, and one login pays ~ms.
const PBKDF2_ROUNDS: u32 = 10_000;

/// Bytes of a stored code hash (PBKDF2-HMAC-SHA256 output).
const HASH_LEN: usize = 32;

/// Upper case, separators (space, `-`) removed; `None` if a symbol is foreign.
pub fn normalize_recovery_code(text: &str) -> Option<SecretString> {
    let mut out = String::with_capacity(RECOVERY_CODE_LEN);
    for c in text.chars() {
        if c == ' ' || c == '-' {
            continue;
        }
        let up = c.to_ascii_uppercase();
        if !up.is_ascii() || !RECOVERY_ALPHABET.contains(&(up as u8)) {
            return None;
        }
        out.push(up);
    }
    Some(SecretString::new(out))
}

/// What [`RecoverySet::spend`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Spend {
    /// The code was unused; it is spent now.
    Spent,
    /// The code is one of the set's, used before.
    AlreadyUsed,
    /// The code is not in the set.
    NotInSet,
}

/// One stored code: its hash, and when it was used (if it was).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredCode {
    hash: [u8; HASH_LEN],
    used_at: Option<UnixTime>,
}

/// A user's current set of recovery codes, as stored.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct RecoverySet {
    #[serde(with = "b64")]
    salt: Vec<u8>,
    rounds: u32,
    created_at: UnixTime,
    #[serde(with = "stored_form")]
    codes: Vec<StoredCode>,
    /// Length of imported all-digit codes (another tool's scratch codes), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    numeric_len: Option<u32>,
    /// Whether the hashes are peppered with the seal key (record schema 3 on);
    /// older sets were only salted and are checked as they were made.
    #[serde(default, skip_serializing_if = "core::ops::Not::not")]
    peppered: bool,
}

/// The most codes one import takes: each is a PBKDF2 hash, computed while
/// the store is open, so the list must be bounded (google-authenticator
/// writes at most 10 scratch codes).
pub const MAX_IMPORTED_CODES: usize = 20;

/// Why a set of existing codes could not be imported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImportError {
    /// A code is neither 6 to 10 digits nor a Planasonix recovery code.
    Malformed,
    /// All-digit codes of different lengths.
    MixedLengths,
    /// No codes.
    Empty,
    /// More than [`MAX_IMPORTED_CODES`].
    TooMany,
}

/// Freshly generated codes, for showing once, with what gets stored.
#[derive(Debug)]
pub struct NewRecoveryCodes {
    /// Codes as shown to the person, e.g. `7KQ2M-XW9PD`.
    pub display: Vec<SecretString>,
    /// What the store keeps.
    pub set: RecoverySet,
}

impl RecoverySet {
    /// Generates `count` codes.
    pub fn generate(
        rng: &mut dyn Random,
        count: usize,
        now: UnixTime,
        pepper: &Pepper<'_>,
    ) -> Result<NewRecoveryCodes, RandomError> {
        let mut salt = vec![0u8; 16];
        rng.fill(&mut salt)?;
        let mut set = RecoverySet {
            salt,
            rounds: PBKDF2_ROUNDS,
            created_at: now,
            codes: Vec::with_capacity(count),
            numeric_len: None,
            peppered: true,
        };
        let mut display = Vec::with_capacity(count);
        for _ in 0..count {
            let mut raw = String::with_capacity(RECOVERY_CODE_LEN);
            for _ in 0..RECOVERY_CODE_LEN {
                raw.push(char::from(RECOVERY_ALPHABET[below(rng, 32)? as usize]));
            }
            let raw = SecretString::new(raw);
            set.codes.push(StoredCode {
                hash: set.hash(raw.expose(), pepper),
                used_at: None,
            });
            display.push(SecretString::new(format!(
                "{}-{}",
                &raw.expose()[..5],
                &raw.expose()[5..]
            )));
        }
        Ok(NewRecoveryCodes { display, set })
    }

    fn hash(&self, canonical: &str, pepper: &Pepper<'_>) -> [u8; HASH_LEN] {
        let mut out = [0u8; HASH_LEN];
        let rounds = NonZeroU32::new(self.rounds).unwrap_or(NonZeroU32::MIN);
        let peppered;
        let secret: &[u8] = if self.peppered {
            peppered = pepper.mix(&[canonical.as_bytes()]);
            &peppered
        } else {
            canonical.as_bytes()
        };
        pbkdf2::derive(
            pbkdf2::PBKDF2_HMAC_SHA256,
            rounds,
            &self.salt,
            secret,
            &mut out,
        );
        out
    }

    /// Spends the code if it is in the set and unused. `canonical` comes from
    /// [`normalize_recovery_code`]. Every stored hash is compared, in constant time.
    pub fn consume(&mut self, canonical: &str, now: UnixTime, pepper: &Pepper<'_>) -> bool {
        self.spend(canonical, now, pepper) == Spend::Spent
    }

    /// [`RecoverySet::consume`], telling a code of this set that was already
    /// used from one that is not in it.
    pub fn spend(&mut self, canonical: &str, now: UnixTime, pepper: &Pepper<'_>) -> Spend {
        let candidate = self.hash(canonical, pepper);
        let mut hit = None;
        let mut used = false;
        for (i, code) in self.codes.iter().enumerate() {
            let equal: bool = code.hash.ct_eq(&candidate).into();
            if equal && code.used_at.is_none() {
                hit = Some(i);
            }
            used |= equal && code.used_at.is_some();
        }
        match hit {
            Some(i) => {
                self.codes[i].used_at = Some(now);
                Spend::Spent
            }
            None if used => Spend::AlreadyUsed,
            None => Spend::NotInSet,
        }
    }

    /// A set made of codes another tool issued (e.g. google-authenticator's
    /// 8-digit scratch codes), stored hashed like our own.
    pub fn import(
        rng: &mut dyn Random,
        codes: &[SecretString],
        now: UnixTime,
        pepper: &Pepper<'_>,
    ) -> Result<RecoverySet, ImportError> {
        if codes.is_empty() {
            return Err(ImportError::Empty);
        }
        if codes.len() > MAX_IMPORTED_CODES {
            return Err(ImportError::TooMany);
        }
        let mut salt = vec![0u8; 16];
        rng.fill(&mut salt).map_err(|_| ImportError::Malformed)?;
        let mut set = RecoverySet {
            salt,
            rounds: PBKDF2_ROUNDS,
            created_at: now,
            codes: Vec::with_capacity(codes.len()),
            numeric_len: None,
            peppered: true,
        };
        for code in codes {
            let text = code.expose().trim();
            let canonical = if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
                if !(6..=10).contains(&text.len()) {
                    return Err(ImportError::Malformed);
                }
                match set.numeric_len {
                    Some(n) if n as usize != text.len() => return Err(ImportError::MixedLengths),
                    _ => set.numeric_len = Some(text.len() as u32),
                }
                SecretString::new(text.to_owned())
            } else {
                normalize_recovery_code(text)
                    .filter(|c| c.expose().len() == RECOVERY_CODE_LEN)
                    .ok_or(ImportError::Malformed)?
            };
            set.codes.push(StoredCode {
                hash: set.hash(canonical.expose(), pepper),
                used_at: None,
            });
        }
        Ok(set)
    }

    /// Length of imported all-digit codes in this set, if it has any.
    pub fn numeric_len(&self) -> Option<usize> {
        self.numeric_len.map(|n| n as usize)
    }

    /// Codes not yet used.
    pub fn remaining(&self) -> usize {
        self.codes.iter().filter(|c| c.used_at.is_none()).count()
    }

    /// When this set was generated.
    pub fn created_at(&self) -> UnixTime {
        self.created_at
    }
}

#[cfg(test)]
mod tests {

    fn pepper_key() -> crate::SealKey {
        crate::SealKey::from_bytes(&[7; 32]).unwrap()
    }
    use super::*;
    use crate::random::SeededRandom;

    #[test]
    fn codes_look_right_and_are_distinct() {
        let key = pepper_key();
        let pepper = key.pepper(crate::seal::PepperFor::Recovery, "alice");
        let new =
            RecoverySet::generate(&mut SeededRandom::new(3), 10, UnixTime(0), &pepper).unwrap();
        assert_eq!(new.display.len(), 10);
        let mut seen = std::collections::HashSet::new();
        for code in &new.display {
            let c = code.expose();
            assert_eq!(c.len(), 11, "{c:?}");
            assert_eq!(&c[5..6], "-");
            assert!(c
                .bytes()
                .filter(|b| *b != b'-')
                .all(|b| RECOVERY_ALPHABET.contains(&b)));
            assert!(seen.insert(c.to_owned()));
        }
        assert_eq!(new.set.remaining(), 10);
    }

    #[test]
    fn each_code_works_once_in_any_spelling() {
        let key = pepper_key();
        let pepper = key.pepper(crate::seal::PepperFor::Recovery, "alice");
        let NewRecoveryCodes { display, mut set } =
            RecoverySet::generate(&mut SeededRandom::new(4), 3, UnixTime(0), &pepper).unwrap();
        let lower = display[1].expose().to_lowercase().replace('-', " ");
        let canon = normalize_recovery_code(&lower).unwrap();
        assert!(set.consume(canon.expose(), UnixTime(5), &pepper));
        assert!(
            !set.consume(canon.expose(), UnixTime(6), &pepper),
            "second use must fail"
        );
        assert_eq!(set.remaining(), 2);
        assert!(!set.consume("2222222222", UnixTime(7), &pepper));
        assert_eq!(
            set.spend(canon.expose(), UnixTime(8), &pepper),
            Spend::AlreadyUsed
        );
        assert_eq!(
            set.spend("2222222222", UnixTime(8), &pepper),
            Spend::NotInSet
        );
    }

    #[test]
    fn imported_scratch_codes_work_once() {
        let key = pepper_key();
        let pepper = key.pepper(crate::seal::PepperFor::Recovery, "alice");
        let codes: Vec<SecretString> = ["12345678", "87654321"]
            .iter()
            .map(|c| SecretString::new((*c).into()))
            .collect();
        let mut set =
            RecoverySet::import(&mut SeededRandom::new(6), &codes, UnixTime(0), &pepper).unwrap();
        assert_eq!(set.numeric_len(), Some(8));
        assert!(set.consume("87654321", UnixTime(1), &pepper));
        assert!(!set.consume("87654321", UnixTime(2), &pepper));
        assert_eq!(set.remaining(), 1);
        let bad = |v: &[&str]| {
            let c: Vec<SecretString> = v.iter().map(|c| SecretString::new((*c).into())).collect();
            RecoverySet::import(&mut SeededRandom::new(6), &c, UnixTime(0), &pepper).unwrap_err()
        };
        assert_eq!(bad(&["123"]), ImportError::Malformed);
        assert_eq!(bad(&["12345678", "1234567"]), ImportError::MixedLengths);
        assert_eq!(bad(&[]), ImportError::Empty);
        // Every code is a PBKDF2 hash: a caller cannot make the engine hash
        // an unbounded list.
        let many: Vec<String> = (0..=MAX_IMPORTED_CODES)
            .map(|i| format!("{:08}", 10_000_000 + i))
            .collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        assert_eq!(bad(&many), ImportError::TooMany);
        let most: Vec<SecretString> = many[..MAX_IMPORTED_CODES]
            .iter()
            .map(|c| SecretString::new((*c).into()))
            .collect();
        let set = RecoverySet::import(&mut SeededRandom::new(6), &most, UnixTime(0), &pepper);
        assert_eq!(set.unwrap().remaining(), MAX_IMPORTED_CODES);
    }

    #[test]
    fn stored_form_holds_no_plaintext() {
        let key = pepper_key();
        let pepper = key.pepper(crate::seal::PepperFor::Recovery, "alice");
        let new =
            RecoverySet::generate(&mut SeededRandom::new(5), 10, UnixTime(0), &pepper).unwrap();
        let json = serde_json::to_string(&new.set).unwrap();
        for code in &new.display {
            let canon = code.expose().replace('-', "");
            assert!(!json.contains(&canon));
            assert!(!json.contains(&code.expose()[..5]));
        }
    }
}
