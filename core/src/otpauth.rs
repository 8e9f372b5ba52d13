//! `otpauth://` URIs in the Google Authenticator key-URI format.

use crate::hotp::Algorithm;
use crate::secret::SecretString;
use data_encoding::BASE32_NOPAD;

/// Base32 (RFC 4648, no padding) of a TOTP secret, for manual entry.
pub fn secret_base32(secret: &[u8]) -> SecretString {
    SecretString::new(BASE32_NOPAD.encode(secret))
}

/// Parses a base32 secret as typed by a person or found in another tool's file:
/// case-insensitive, spaces and `=` padding ignored.
pub fn parse_base32(text: &str) -> Option<Vec<u8>> {
    let clean: String = text
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '=' && *c != '-')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    if clean.is_empty() {
        return None;
    }
    BASE32_NOPAD.decode(clean.as_bytes()).ok()
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Parameters of one TOTP enrollment as an app needs them.
#[derive(Debug, Clone, Copy)]
pub struct KeyUri<'a> {
    /// Issuer shown in the app.
    pub issuer: &'a str,
    /// Account (user name).
    pub account: &'a str,
    /// HMAC algorithm.
    pub algorithm: Algorithm,
    /// 6 or 8.
    pub digits: u32,
    /// Seconds per step.
    pub period: u64,
}

impl KeyUri<'_> {
    /// `otpauth://totp/ISSUER:ACCOUNT?secret=…&issuer=…&algorithm=…&digits=…&period=…`
    pub fn render(&self, secret: &[u8]) -> SecretString {
        let issuer = encode(self.issuer);
        SecretString::new(format!(
            "otpauth://totp/{issuer}:{account}?secret={secret}&issuer={issuer}&algorithm={alg}&digits={digits}&period={period}",
            account = encode(self.account),
            secret = secret_base32(secret).expose(),
            alg = self.algorithm.name(),
            digits = self.digits,
            period = self.period,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_key_uri() {
        let uri = KeyUri {
            issuer: "ACME Co",
            account: "alice@example.org",
            algorithm: Algorithm::Sha1,
            digits: 6,
            period: 30,
        }
        .render(b"12345678901234567890");
        assert_eq!(
            uri.expose(),
            "otpauth://totp/ACME%20Co:alice%40example.org?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=ACME%20Co&algorithm=SHA1&digits=6&period=30"
        );
    }

    #[test]
    fn base32_is_forgiving_on_input() {
        assert_eq!(parse_base32("gezd gnbv gy3t qojq").unwrap(), b"1234567890");
        assert_eq!(parse_base32("GEZDGNBVGY3TQOJQ====").unwrap(), b"1234567890");
        assert!(parse_base32("not base32!").is_none());
        assert!(parse_base32("").is_none());
    }
}
