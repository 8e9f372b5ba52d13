//! HOTP (RFC 4226) and TOTP (RFC 6238) code computation.

use core::fmt;
use ring::hmac;
use serde::{Deserialize, Serialize};

/// The HMAC hash behind a TOTP factor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub enum Algorithm {
    /// HMAC-SHA1: what every authenticator app supports; the default.
    #[default]
    #[serde(rename = "SHA1")]
    Sha1,
    /// HMAC-SHA256.
    #[serde(rename = "SHA256")]
    Sha256,
    /// HMAC-SHA512.
    #[serde(rename = "SHA512")]
    Sha512,
}

impl Algorithm {
    fn ring(self) -> hmac::Algorithm {
        match self {
            Algorithm::Sha1 => hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
            Algorithm::Sha256 => hmac::HMAC_SHA256,
            Algorithm::Sha512 => hmac::HMAC_SHA512,
        }
    }

    /// The name used in otpauth URIs and policy files.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Sha1 => "SHA1",
            Algorithm::Sha256 => "SHA256",
            Algorithm::Sha512 => "SHA512",
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An HMAC key ready for computing HOTP values of one secret, so that
/// checking several time steps sets the key up once.
pub struct HotpKey(hmac::Key);

impl fmt::Debug for HotpKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HotpKey(..)")
    }
}

impl HotpKey {
    /// Sets up the key for `secret`.
    pub fn new(algorithm: Algorithm, secret: &[u8]) -> HotpKey {
        HotpKey(hmac::Key::new(algorithm.ring(), secret))
    }

    /// The HOTP value for `counter`, as a zero-padded string of `digits` digits.
    ///
    /// `digits` is 6 to 9; the policy only admits 6 and 8.
    pub fn code(&self, counter: u64, digits: u32) -> String {
        let tag = hmac::sign(&self.0, &counter.to_be_bytes());
        let mac = tag.as_ref();
        let offset = usize::from(mac[mac.len() - 1] & 0x0f);
        let binary = u32::from_be_bytes([
            mac[offset],
            mac[offset + 1],
            mac[offset + 2],
            mac[offset + 3],
        ]) & 0x7fff_ffff;
        let modulus = 10u32.pow(digits.clamp(1, 9));
        format!("{:0width$}", binary % modulus, width = digits as usize)
    }
}

/// The HOTP value for `counter`, as a zero-padded string of `digits` digits.
///
/// `digits` is 6 to 9; the policy only admits 6 and 8.
pub fn hotp(algorithm: Algorithm, secret: &[u8], counter: u64, digits: u32) -> String {
    HotpKey::new(algorithm, secret).code(counter, digits)
}

/// The TOTP time step for `unix_seconds` with a step of `period` seconds.
pub fn time_step(unix_seconds: u64, period: u64) -> u64 {
    unix_seconds / period.max(1)
}

/// The TOTP value at `unix_seconds`.
pub fn totp(
    algorithm: Algorithm,
    secret: &[u8],
    unix_seconds: u64,
    period: u64,
    digits: u32,
) -> String {
    hotp(algorithm, secret, time_step(unix_seconds, period), digits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4226_first_value() {
        assert_eq!(
            hotp(Algorithm::Sha1, b"12345678901234567890", 0, 6),
            "755224"
        );
    }

    #[test]
    fn pads_with_leading_zeros() {
        // RFC 6238 appendix B, T = 1111111109, SHA1, 8 digits: 07081804.
        assert_eq!(
            totp(
                Algorithm::Sha1,
                b"12345678901234567890",
                1_111_111_109,
                30,
                8
            ),
            "07081804"
        );
    }
}
