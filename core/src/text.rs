//! Text from outside, made safe for a log line or a terminal.
//!
//! User names, `PAM_RHOST`, `PAM_SERVICE`, an admin's reason and whatever an
//! identity provider passes are hostile: a control character can clear an
//! admin's terminal or split a syslog line, a bidi override can make a name
//! read backwards, and a space or `=` can forge a `key=value` field
//! (`remote=203.0.113.9 event=verified`). Every such value goes through
//! [`Field`] (one `key=value` value) or [`escape_line`] (free text) before it
//! reaches syslog, the audit trail's text form or a terminal.

use core::fmt::{self, Write};

/// Unicode format characters (general category Cf) and the line and
/// paragraph separators: invisible, or they reorder or break what follows.
fn is_format(c: char) -> bool {
    matches!(c as u32,
        0x00AD | 0x0600..=0x0605 | 0x061C | 0x06DD | 0x070F | 0x0890..=0x0891 | 0x08E2
        | 0x180E | 0x200B..=0x200F | 0x2028..=0x202E | 0x2060..=0x2064 | 0x2066..=0x206F
        | 0xFEFF | 0xFFF9..=0xFFFB | 0x110BD | 0x110CD | 0x13430..=0x1343F
        | 0x1BCA0..=0x1BCA3 | 0x1D173..=0x1D17A | 0xE0001 | 0xE0020..=0xE007F)
}

/// Whether `c` must never reach a log line or a terminal as itself.
pub fn is_unsafe_char(c: char) -> bool {
    c.is_control() || is_format(c)
}

fn push_escaped(out: &mut impl Write, c: char) -> fmt::Result {
    match c {
        '\n' => out.write_str("\\n"),
        '\r' => out.write_str("\\r"),
        '\t' => out.write_str("\\t"),
        c => write!(out, "\\u{{{:04x}}}", c as u32),
    }
}

/// One value of a `key=value` field. Written as it is when it is a plain
/// word; otherwise in double quotes, with `"` and `\` escaped and every
/// control, format or non-space blank character written as an escape, so a
/// value can never be read as a second field or a second line.
#[derive(Clone, Copy, Debug)]
pub struct Field<'a>(pub &'a str);

impl Field<'_> {
    /// Whether the value is written without quotes.
    pub fn is_plain(&self) -> bool {
        !self.0.is_empty()
            && self
                .0
                .chars()
                .all(|c| !is_unsafe_char(c) && !c.is_whitespace() && !matches!(c, '=' | '"' | '\\'))
    }
}

impl fmt::Display for Field<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_plain() {
            return f.write_str(self.0);
        }
        f.write_char('"')?;
        for c in self.0.chars() {
            match c {
                '"' => f.write_str("\\\"")?,
                '\\' => f.write_str("\\\\")?,
                ' ' => f.write_char(' ')?,
                c if is_unsafe_char(c) || c.is_whitespace() => push_escaped(f, c)?,
                c => f.write_char(c)?,
            }
        }
        f.write_char('"')
    }
}

/// Free text for one line: spaces and printable characters stay, every
/// control or format character becomes an escape (`\n`, `\u{1b}`).
pub fn escape_line(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if is_unsafe_char(c) || (c.is_whitespace() && c != ' ') {
            // Writing into a String cannot fail.
            let _ = push_escaped(&mut out, c);
        } else {
            out.push(c);
        }
    }
    out
}

/// JSON text as `serde_json` writes it, with every character that
/// [`is_unsafe_char`] rejects inside a string written as a `\uXXXX` escape
/// (a surrogate pair past U+FFFF). `serde_json` escapes C0 controls itself
/// but passes DEL, C1 controls and bidi overrides through raw; outside its
/// strings it writes only ASCII punctuation, digits, letters and the
/// whitespace between tokens, which stays as it is.
pub fn escape_json(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        if is_unsafe_char(c) && !matches!(c, ' ' | '\t' | '\n' | '\r') {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                // Writing into a String cannot fail.
                let _ = write!(out, "\\u{unit:04x}");
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_words_stay_and_everything_else_is_quoted() {
        assert_eq!(Field("alice").to_string(), "alice");
        assert_eq!(Field("203.0.113.9").to_string(), "203.0.113.9");
        assert_eq!(Field("élodie").to_string(), "élodie");
        assert_eq!(
            Field("203.0.113.9 event=verified factor=totp \x1b[2J").to_string(),
            r#""203.0.113.9 event=verified factor=totp \u{001b}[2J""#
        );
        assert_eq!(Field("a=b").to_string(), r#""a=b""#);
        assert_eq!(Field("say \"hi\"\\").to_string(), r#""say \"hi\"\\""#);
        assert_eq!(Field("").to_string(), r#""""#);
        assert_eq!(Field("evil\u{202e}gnp").to_string(), r#""evil\u{202e}gnp""#);
        assert_eq!(Field("a\u{85}b").to_string(), r#""a\u{0085}b""#);
    }

    #[test]
    fn json_strings_lose_what_serde_json_lets_through() {
        let value = "a\u{7f}b\u{85}c\u{202e}d\u{e0041}\u{1b}é█";
        let json = escape_json(&serde_json::json!({ "v": value }).to_string());
        assert_eq!(
            json,
            r#"{"v":"a\u007fb\u0085c\u202ed\udb40\udc41\u001bé█"}"#
        );
        assert!(!json.chars().any(is_unsafe_char));
        let back: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(back["v"], value);
        // Pretty output keeps its layout.
        let pretty = serde_json::to_string_pretty(&serde_json::json!({ "a": [1] })).unwrap();
        assert_eq!(escape_json(&pretty), pretty);
    }

    #[test]
    fn lines_keep_spaces_and_lose_controls() {
        assert_eq!(
            escape_line("lost phone, ID checked"),
            "lost phone, ID checked"
        );
        assert_eq!(
            escape_line("a\nb\tc\u{1b}[2J\u{2066}"),
            "a\\nb\\tc\\u{001b}[2J\\u{2066}"
        );
    }
}
