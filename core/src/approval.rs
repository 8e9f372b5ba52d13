//! Login approvals: a terminal login (SSH, sudo) approved at the
//! organisation's identity provider instead of a typed code.
//!
//! The login's PAM module asks the engine for a request, bound to that one
//! login (user, host, service, remote address and a random handle), and
//! shows the user a short code and a number. At the provider, signed in as
//! that same user, they enter the code, see who asks (host, service,
//! address, time) and pick the number among three: the right one approves,
//! another refuses, "This wasn't me" refuses and warns. The module then
//! takes the approval once, as if a code had been typed. The requests live
//! in the user's own authenticated record, so a code is looked up only among
//! that user's few pending requests: it cannot approve anyone else's login.

use crate::time::UnixTime;
use serde::{Deserialize, Serialize};

/// Letters and digits of a short code (24): none of 0/O, 1/I/L, Z, 5/S,
/// 8/B, U/V, which read alike.
pub const CODE_ALPHABET: &[u8] = b"234679ACDEFGHJKMNPQRTWXY";
/// Characters of a short code (shown as two groups of three).
pub const CODE_LEN: usize = 6;
/// Bytes of the request's handle (the PAM transaction's).
pub const HANDLE_LEN: usize = 16;
/// Numbers the approval page offers (one right).
pub const CHOICES: usize = 3;
/// Longest host, service or address a request keeps, in characters.
pub const MAX_FIELD_CHARS: usize = 128;

/// How a request stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "state")]
pub enum ApprovalState {
    /// Waiting for the user at the identity provider.
    Pending,
    /// Approved, with the right number, by a sign-in with this `amr`.
    Approved {
        /// When.
        at: UnixTime,
        /// The approving sign-in's authentication methods (RFC 8176).
        amr: Vec<String>,
    },
    /// Refused at the identity provider (a wrong number, or "This wasn't me").
    Denied {
        /// When.
        at: UnixTime,
    },
}

/// One pending or answered request, in the user's record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginApproval {
    /// The login's handle: hex of [`HANDLE_LEN`] random bytes, known to the
    /// PAM module that asked, never shown.
    pub handle: String,
    /// The short code the terminal shows (without its dash).
    pub code: String,
    /// The number the terminal shows, 10 to 99.
    pub number: u8,
    /// The numbers the page offers, the right one among them, in order.
    pub choices: [u8; CHOICES],
    /// The machine the login is on.
    pub host: String,
    /// The PAM service (`sshd`, `sudo`).
    pub service: String,
    /// The address the login comes from, when PAM knows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote: Option<String>,
    /// When it was asked for.
    pub created: UnixTime,
    /// When it lapses.
    pub expires: UnixTime,
    /// How it stands.
    #[serde(flatten)]
    pub state: ApprovalState,
}

/// `code` as the terminal shows it: `A7K-29Q`.
pub fn shown_code(code: &str) -> String {
    let (a, b) = code.split_at(code.len().min(CODE_LEN / 2));
    format!("{a}-{b}")
}

/// What a person typed for a code, canonical: upper case, without spaces or
/// dashes; `None` when it cannot be a code (so it is not looked up).
pub fn typed_code(text: &str) -> Option<String> {
    if text.len() > 4 * CODE_LEN {
        return None;
    }
    let code: String = text
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    (code.len() == CODE_LEN && code.bytes().all(|b| CODE_ALPHABET.contains(&b))).then_some(code)
}

/// A field from PAM (host, service, address), made safe to keep and show:
/// control characters dropped, cut to [`MAX_FIELD_CHARS`].
pub fn clean_field(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_control())
        .take(MAX_FIELD_CHARS)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_read_back_however_they_are_typed() {
        assert_eq!(shown_code("A7K29Q"), "A7K-29Q");
        assert_eq!(typed_code("a7k-29q").as_deref(), Some("A7K29Q"));
        assert_eq!(typed_code(" A7K 29Q ").as_deref(), Some("A7K29Q"));
        for junk in [
            "A7K-29",
            "A7K-29QQ",
            "A0K-29Q",
            "ÄÄÄ-ÄÄÄ",
            "",
            &"A".repeat(100),
        ] {
            assert_eq!(typed_code(junk), None, "{junk:?}");
        }
        assert_eq!(clean_field("db-7\u{1b}[31m\n"), "db-7[31m");
        assert_eq!(clean_field(&"x".repeat(500)).len(), MAX_FIELD_CHARS);
    }
}
