//! What a person types: codes at the prompt, and user names.
//!
//! Input arrives as raw bytes (a PAM conversation answer, a WIT string, a CLI
//! argument). It is classified here once, before any factor is consulted, so every
//! door refuses the same garbage with the same message.

use crate::recovery::{normalize_recovery_code, RECOVERY_CODE_LEN};
use crate::secret::SecretString;
use core::fmt;

/// The longest answer read at a code prompt, in bytes. Longer is refused unread.
pub const MAX_CODE_INPUT: usize = 64;

/// The longest user name accepted, in bytes.
pub const MAX_USER_NAME: usize = 256;

/// A classified answer to the `Verification code:` prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeInput {
    /// Only digits (spaces removed): a TOTP or SMS code.
    Digits(SecretString),
    /// A recovery code in canonical form (upper case, no separators).
    Recovery(SecretString),
    /// The word `sms`: send me a code by text message.
    SmsRequest,
}

/// Why an answer could not be a code. None of these counts as a failed attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum InputError {
    /// Nothing was typed.
    Empty,
    /// More than [`MAX_CODE_INPUT`] bytes.
    TooLong,
    /// Not valid UTF-8.
    NotUtf8,
    /// Contains a NUL or another control character.
    ControlCharacter,
    /// Neither digits, a recovery code nor `sms`.
    Malformed,
    /// Digits, but not as many as any enabled factor uses.
    WrongLength {
        /// How many digits were typed.
        got: usize,
    },
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InputError::Empty => f.write_str("no code was entered"),
            InputError::TooLong => write!(f, "input longer than {MAX_CODE_INPUT} bytes"),
            InputError::NotUtf8 => f.write_str("input is not valid UTF-8"),
            InputError::ControlCharacter => f.write_str("input contains control characters"),
            InputError::Malformed => f.write_str(
                "not a code: enter the digits from your authenticator app, a recovery code, or `sms`",
            ),
            InputError::WrongLength { got } => {
                write!(f, "{got} digits is not the length of any of your codes")
            }
        }
    }
}

impl CodeInput {
    /// Classifies raw prompt input.
    pub fn parse(raw: &[u8]) -> Result<CodeInput, InputError> {
        if raw.len() > MAX_CODE_INPUT {
            return Err(InputError::TooLong);
        }
        let text = core::str::from_utf8(raw).map_err(|_| InputError::NotUtf8)?;
        if text.chars().any(char::is_control) {
            return Err(InputError::ControlCharacter);
        }
        let text = text.trim();
        if text.is_empty() {
            return Err(InputError::Empty);
        }
        if text.eq_ignore_ascii_case("sms") {
            return Ok(CodeInput::SmsRequest);
        }
        let compact: String = text.chars().filter(|c| *c != ' ').collect();
        if compact.bytes().all(|b| b.is_ascii_digit()) {
            return Ok(CodeInput::Digits(SecretString::new(compact)));
        }
        match normalize_recovery_code(text) {
            Some(code) if code.expose().len() == RECOVERY_CODE_LEN => Ok(CodeInput::Recovery(code)),
            _ => Err(InputError::Malformed),
        }
    }
}

/// Why a user name was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum UserNameError {
    /// Empty.
    Empty,
    /// Longer than [`MAX_USER_NAME`] bytes.
    TooLong,
    /// Contains whitespace, a control character or `/`.
    BadCharacter,
    /// Starts with `-`, which command lines would read as an option.
    LeadingDash,
}

impl fmt::Display for UserNameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UserNameError::Empty => f.write_str("user name is empty"),
            UserNameError::TooLong => write!(f, "user name longer than {MAX_USER_NAME} bytes"),
            UserNameError::BadCharacter => {
                f.write_str("user name contains whitespace, a control character or '/'")
            }
            UserNameError::LeadingDash => f.write_str("user name starts with '-'"),
        }
    }
}

impl std::error::Error for UserNameError {}

/// Checks a user name (a Unix login or an identity provider's subject).
pub fn validate_user_name(name: &str) -> Result<(), UserNameError> {
    if name.is_empty() {
        return Err(UserNameError::Empty);
    }
    if name.len() > MAX_USER_NAME {
        return Err(UserNameError::TooLong);
    }
    if name.starts_with('-') {
        return Err(UserNameError::LeadingDash);
    }
    if name
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || c == '/')
    {
        return Err(UserNameError::BadCharacter);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_codes() {
        assert!(
            matches!(CodeInput::parse(b"123456"), Ok(CodeInput::Digits(d)) if d.expose() == "123456")
        );
        assert!(
            matches!(CodeInput::parse(b" 123 456\n".trim_ascii_end()), Ok(CodeInput::Digits(d)) if d.expose() == "123456")
        );
        assert_eq!(CodeInput::parse(b"SmS"), Ok(CodeInput::SmsRequest));
        assert!(
            matches!(CodeInput::parse(b"7kq2m-xw9pd"), Ok(CodeInput::Recovery(r)) if r.expose() == "7KQ2MXW9PD")
        );
        assert!(matches!(
            CodeInput::parse(b"7KQ2M XW9PD"),
            Ok(CodeInput::Recovery(_))
        ));
    }

    #[test]
    fn refuses_bad_input_precisely() {
        assert_eq!(CodeInput::parse(b""), Err(InputError::Empty));
        assert_eq!(CodeInput::parse(b"   "), Err(InputError::Empty));
        assert_eq!(CodeInput::parse(&[b'1'; 10_240]), Err(InputError::TooLong));
        assert_eq!(
            CodeInput::parse(b"12\x003456"),
            Err(InputError::ControlCharacter)
        );
        assert_eq!(
            CodeInput::parse(b"\xff\xfe123456"),
            Err(InputError::NotUtf8)
        );
        assert_eq!(CodeInput::parse(b"12a456"), Err(InputError::Malformed));
        assert_eq!(CodeInput::parse(b"OOOOO-OOOOO"), Err(InputError::Malformed));
        assert_eq!(CodeInput::parse(b"7KQ2M-XW9P"), Err(InputError::Malformed));
    }

    #[test]
    fn user_names() {
        assert_eq!(validate_user_name("alice"), Ok(()));
        assert_eq!(validate_user_name("alice@example.org"), Ok(()));
        assert_eq!(validate_user_name(""), Err(UserNameError::Empty));
        assert_eq!(validate_user_name("a b"), Err(UserNameError::BadCharacter));
        assert_eq!(
            validate_user_name("../etc"),
            Err(UserNameError::BadCharacter)
        );
        assert_eq!(validate_user_name("-rf"), Err(UserNameError::LeadingDash));
        assert_eq!(
            validate_user_name(&"a".repeat(300)),
            Err(UserNameError::TooLong)
        );
    }
}
