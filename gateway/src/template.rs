//! Templates of a gateway request: text with placeholders (`{to}`, `{text}`,
//! `{code}`, `{id}`, `{user}`) checked when the delivery file is read, and
//! filled per message. Filling never builds syntax: a JSON body is
//! serialised from the filled strings, a form body and a URL percent-encode
//! them, so quotes, line breaks and any Unicode in a text stay values.

use core::fmt;

/// A value a template may name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Var {
    /// The recipient: an E.164 number for SMS, the user's address for notices.
    To,
    /// The whole message.
    Text,
    /// The code in an SMS (the first run of 4 to 10 digits of its text).
    Code,
    /// This message's id, the same over retries (for a gateway's dedup).
    Id,
    /// The user a notice is about.
    User,
}

const VARS: &[(&str, Var)] = &[
    ("to", Var::To),
    ("text", Var::Text),
    ("code", Var::Code),
    ("id", Var::Id),
    ("user", Var::User),
];

#[derive(Clone, Debug, PartialEq, Eq)]
enum Piece {
    Literal(String),
    Var(Var),
}

/// A parsed template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Template(Vec<Piece>);

/// What fills a template.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Values<'a> {
    pub(crate) to: &'a str,
    pub(crate) text: &'a str,
    pub(crate) id: &'a str,
    pub(crate) user: &'a str,
}

/// Why a template is refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TemplateError(String);

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Template {
    /// Parses `text`: `{name}` is a placeholder, `{{` and `}}` are braces.
    pub(crate) fn parse(text: &str) -> Result<Template, TemplateError> {
        let mut pieces = Vec::new();
        let mut literal = String::new();
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '{' if chars.peek() == Some(&'{') => {
                    chars.next();
                    literal.push('{');
                }
                '}' if chars.peek() == Some(&'}') => {
                    chars.next();
                    literal.push('}');
                }
                '{' => {
                    let name: String = chars.by_ref().take_while(|c| *c != '}').collect();
                    let var = VARS
                        .iter()
                        .find(|(n, _)| *n == name)
                        .map(|(_, v)| *v)
                        .ok_or_else(|| {
                            TemplateError(format!(
                                "{{{name}}} is not a placeholder: use {{to}}, {{text}}, {{code}}, {{id}} or {{user}} (and {{{{ }}}} for braces)"
                            ))
                        })?;
                    if !literal.is_empty() {
                        pieces.push(Piece::Literal(std::mem::take(&mut literal)));
                    }
                    pieces.push(Piece::Var(var));
                }
                '}' => return Err(TemplateError("a lone } : write }} for a brace".into())),
                c => literal.push(c),
            }
        }
        if !literal.is_empty() {
            pieces.push(Piece::Literal(literal));
        }
        Ok(Template(pieces))
    }

    /// Whether the template names `var`.
    pub(crate) fn uses(&self, var: Var) -> bool {
        self.0.contains(&Piece::Var(var))
    }

    /// The filled text; `escape` is applied to each filled value, never to
    /// the template's own literal text.
    pub(crate) fn fill(&self, values: &Values<'_>, escape: fn(&str) -> String) -> String {
        let mut out = String::new();
        for piece in &self.0 {
            match piece {
                Piece::Literal(text) => out.push_str(text),
                Piece::Var(var) => out.push_str(&escape(value(*var, values))),
            }
        }
        out
    }
}

fn value<'a>(var: Var, v: &Values<'a>) -> &'a str {
    match var {
        Var::To => v.to,
        Var::Text => v.text,
        Var::Code => code_in(v.text),
        Var::Id => v.id,
        Var::User => v.user,
    }
}

/// The first run of 4 to 10 ASCII digits in `text` (the code of an SMS,
/// whatever the policy's wording around it), or "" if there is none.
pub(crate) fn code_in(text: &str) -> &str {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_digit() {
            let start = i;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            if (4..=10).contains(&(i - start)) {
                return &text[start..i];
            }
        } else {
            i += 1;
        }
    }
    ""
}

/// The value as it is.
pub(crate) fn verbatim(text: &str) -> String {
    text.to_owned()
}

/// Percent-encoding for a URL's query or a form body: everything but the
/// unreserved characters (RFC 3986) is encoded, so a value can never end
/// its field or start another.
pub(crate) fn percent(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values() -> Values<'static> {
        Values {
            to: "+447700900123",
            text: "Code 123456 \"quoted\"\nline & ünïcode",
            id: "m-1",
            user: "alice",
        }
    }

    #[test]
    fn placeholders_fill_and_braces_stay_braces() {
        let t = Template::parse("{{\"to\":\"{to}\"}} {code} {id} {user}").unwrap();
        assert_eq!(
            t.fill(&values(), verbatim),
            "{\"to\":\"+447700900123\"} 123456 m-1 alice"
        );
        assert!(t.uses(Var::Code) && !t.uses(Var::Text));
    }

    #[test]
    fn an_unknown_placeholder_or_a_lone_brace_is_refused_by_name() {
        let e = Template::parse("{number}").unwrap_err();
        assert!(
            e.to_string().contains("{number} is not a placeholder"),
            "{e}"
        );
        assert!(Template::parse("a } b").is_err());
    }

    #[test]
    fn percent_encoding_keeps_every_value_one_value() {
        let t = Template::parse("https://sms.example/send?to={to}&msg={text}").unwrap();
        let url = t.fill(&values(), percent);
        assert!(url.starts_with("https://sms.example/send?to=%2B447700900123&msg=Code%20123456%20%22quoted%22%0Aline%20%26%20%C3%BCn%C3%AFcode"), "{url}");
        assert_eq!(url.matches('&').count(), 1);
    }

    #[test]
    fn the_code_is_the_first_run_of_four_to_ten_digits() {
        assert_eq!(code_in("Your code: 123456. Valid 5 min"), "123456");
        assert_eq!(code_in("5 min: 12345678901 or 987654"), "987654");
        assert_eq!(code_in("no code"), "");
    }
}
