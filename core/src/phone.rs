//! Mobile numbers for SMS codes (E.164).
//!
//! A number is personal data: it is sealed at rest, never logged, and shown only
//! masked (`+44•••••••23`).

use crate::secret::SecretString;
use core::fmt;

/// Why a phone number was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PhoneError {
    /// Not `+` followed by 8 to 15 digits (spaces, dashes, dots, brackets allowed).
    NotE164,
    /// Its country prefix is not in the policy's `sms.allowed_prefixes`.
    PrefixNotAllowed,
}

impl fmt::Display for PhoneError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PhoneError::NotE164 => f.write_str(
                "not an international mobile number: write + and the country code, e.g. +447700900123",
            ),
            PhoneError::PrefixNotAllowed => {
                f.write_str("SMS to this country is not allowed by the organisation's policy")
            }
        }
    }
}

/// A validated E.164 number, e.g. `+447700900123`.
#[derive(Clone, PartialEq, Eq)]
pub struct PhoneNumber(SecretString);

impl fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PhoneNumber({})", self.masked())
    }
}

impl PhoneNumber {
    /// Parses and normalises a number typed by a person.
    pub fn parse(text: &str) -> Result<PhoneNumber, PhoneError> {
        let text = text.trim();
        let rest = text.strip_prefix('+').ok_or(PhoneError::NotE164)?;
        let mut digits = String::with_capacity(16);
        digits.push('+');
        for c in rest.chars() {
            match c {
                '0'..='9' => digits.push(c),
                ' ' | '-' | '.' | '(' | ')' => {}
                _ => return Err(PhoneError::NotE164),
            }
        }
        let count = digits.len() - 1;
        if !(8..=15).contains(&count) || digits.as_bytes()[1] == b'0' {
            return Err(PhoneError::NotE164);
        }
        Ok(PhoneNumber(SecretString::new(digits)))
    }

    /// Parses, then checks the number against allowed prefixes like `+44`.
    pub fn parse_allowed(
        text: &str,
        allowed_prefixes: &[String],
    ) -> Result<PhoneNumber, PhoneError> {
        let number = PhoneNumber::parse(text)?;
        if allowed_prefixes
            .iter()
            .any(|p| number.e164().starts_with(p.as_str()))
        {
            Ok(number)
        } else {
            Err(PhoneError::PrefixNotAllowed)
        }
    }

    /// The full number (personal data: for the delivery channel only).
    pub fn e164(&self) -> &str {
        self.0.expose()
    }

    /// The number as shown at a prompt: prefix and last two digits.
    pub fn masked(&self) -> String {
        let n = self.e164();
        let head = &n[..3.min(n.len())];
        let tail = &n[n.len().saturating_sub(2)..];
        let hidden = n.len().saturating_sub(head.len() + tail.len());
        format!("{head}{}{tail}", "•".repeat(hidden))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_masks() {
        let n = PhoneNumber::parse(" +44 (7700) 900-123 ").unwrap();
        assert_eq!(n.e164(), "+447700900123");
        assert_eq!(n.masked(), "+44••••••••23");
        assert!(!format!("{n:?}").contains("7700900"));
    }

    #[test]
    fn refuses_bad_numbers() {
        for bad in [
            "",
            "447700900123",
            "+44 7700 9001234567",
            "+4477",
            "+0447700900123",
            "+44x7700900123",
            "++447700900123",
        ] {
            assert_eq!(PhoneNumber::parse(bad), Err(PhoneError::NotE164), "{bad}");
        }
    }

    #[test]
    fn enforces_prefixes() {
        let allowed = vec!["+44".to_owned(), "+1".to_owned()];
        assert!(PhoneNumber::parse_allowed("+15555550123", &allowed).is_ok());
        assert_eq!(
            PhoneNumber::parse_allowed("+882345678901", &allowed),
            Err(PhoneError::PrefixNotAllowed)
        );
    }
}
