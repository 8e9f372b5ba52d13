//! One-time codes sent by text message.

use crate::codec::b64;
use crate::random::{below, Random, RandomError};
use crate::seal::Pepper;
use crate::secret::SecretString;
use crate::time::UnixTime;
use ring::hmac;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

/// A code sent and not yet used: only its salted hash is kept.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmsChallenge {
    #[serde(with = "b64")]
    salt: Vec<u8>,
    #[serde(with = "b64")]
    hash: Vec<u8>,
    /// The code is void after this.
    pub expires_at: UnixTime,
    /// Wrong entries left before the code is void.
    pub attempts_left: u32,
    /// Whether the hash is peppered with the seal key (record schema 3 on).
    #[serde(default, skip_serializing_if = "core::ops::Not::not")]
    peppered: bool,
}

/// How a typed code compared with the challenge.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SmsCheck {
    /// Right code, in time.
    Accepted,
    /// Wrong code; the challenge stays if attempts are left.
    Wrong,
    /// The code expired or ran out of attempts.
    Expired,
}

/// The stored form of a code: salted, and peppered with the seal key so a
/// copy of the database cannot reveal a live code by trying all of them.
fn digest(salt: &[u8], code: &str, pepper: Option<&Pepper<'_>>) -> Vec<u8> {
    match pepper {
        Some(p) => p.mix(&[salt, code.as_bytes()]).to_vec(),
        None => {
            let key = hmac::Key::new(hmac::HMAC_SHA256, salt);
            hmac::sign(&key, code.as_bytes()).as_ref().to_vec()
        }
    }
}

impl SmsChallenge {
    /// A fresh code of `length` digits; returns the code (to send) and the challenge (to store).
    pub fn issue(
        rng: &mut dyn Random,
        length: u32,
        expires_at: UnixTime,
        attempts: u32,
        pepper: &Pepper<'_>,
    ) -> Result<(SecretString, SmsChallenge), RandomError> {
        let mut code = String::with_capacity(length as usize);
        for _ in 0..length {
            code.push(char::from(b'0' + below(rng, 10)? as u8));
        }
        let mut salt = vec![0u8; 16];
        rng.fill(&mut salt)?;
        let hash = digest(&salt, &code, Some(pepper));
        Ok((
            SecretString::new(code),
            SmsChallenge {
                salt,
                hash,
                expires_at,
                attempts_left: attempts,
                peppered: true,
            },
        ))
    }

    /// Compares a typed code in constant time; a wrong one uses up an attempt.
    pub fn check(&mut self, code: &str, now: UnixTime, pepper: &Pepper<'_>) -> SmsCheck {
        if now >= self.expires_at || self.attempts_left == 0 {
            return SmsCheck::Expired;
        }
        let pepper = self.peppered.then_some(pepper);
        let equal: bool = digest(&self.salt, code, pepper).ct_eq(&self.hash).into();
        if equal {
            SmsCheck::Accepted
        } else {
            self.attempts_left -= 1;
            SmsCheck::Wrong
        }
    }

    /// Whether the challenge can still be answered.
    pub fn live(&self, now: UnixTime) -> bool {
        now < self.expires_at && self.attempts_left > 0
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
    fn right_code_in_time_only() {
        let key = pepper_key();
        let pepper = key.pepper(crate::seal::PepperFor::Sms, "alice");
        let (code, mut ch) =
            SmsChallenge::issue(&mut SeededRandom::new(1), 6, UnixTime(100), 2, &pepper).unwrap();
        assert_eq!(code.expose().len(), 6);
        assert_eq!(
            ch.check(code.expose(), UnixTime(100), &pepper),
            SmsCheck::Expired
        );
        assert_eq!(ch.check("000000", UnixTime(10), &pepper), SmsCheck::Wrong);
        assert_eq!(
            ch.check(code.expose(), UnixTime(10), &pepper),
            SmsCheck::Accepted
        );
        assert_eq!(ch.check("000001", UnixTime(10), &pepper), SmsCheck::Wrong);
        assert_eq!(
            ch.check(code.expose(), UnixTime(10), &pepper),
            SmsCheck::Expired,
            "attempts used up"
        );
        assert!(!serde_json::to_string(&ch).unwrap().contains(code.expose()));
    }
}
