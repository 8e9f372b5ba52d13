//! The users file of pam_oath (`/etc/users.oath`): one token per line,
//! `TYPE USER PIN SECRET [more]`, e.g. `HOTP/T30/6 alice - 3132333435…`, with
//! the secret in hex; `#` starts a comment line.

use super::MIN_IMPORTED_SECRET;
use crate::shared::MAX_SECRET_BYTES;
use data_encoding::HEXLOWER_PERMISSIVE;
use planasonix_core::hotp::Algorithm;
use planasonix_core::input::{validate_user_name, UserNameError};
use planasonix_core::{SecretBytes, TotpParams};
use std::fmt;
use zeroize::Zeroizing;

/// A line that names a user (as typed: resolving it is the command's).
#[derive(Debug)]
pub struct Entry {
    /// Its line number (1-based).
    pub line: usize,
    /// The user name as written.
    pub user: String,
    /// The token, or why it cannot be taken over.
    pub token: Result<Token, Problem>,
}

/// A time-based token that can be taken over.
#[derive(Debug)]
pub struct Token {
    /// The shared secret.
    pub secret: SecretBytes,
    /// Digits and time step.
    pub params: TotpParams,
    /// Whether the line sets a PIN (not taken over).
    pub pin: bool,
}

/// A line refused before it named a user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refused {
    /// Its line number (1-based).
    pub line: usize,
    /// Why.
    pub problem: Problem,
}

/// What is wrong with a line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Problem {
    /// Fewer than four fields.
    TooFewFields,
    /// The user field cannot be a user name.
    UserName(UserNameError),
    /// The type is not `HOTP/…`.
    UnsupportedType(String),
    /// `HOTP/T45`: a time step other than 30 or 60 seconds.
    TimeStep(String),
    /// `HOTP` or `HOTP/E`: counter-based.
    CounterBased,
    /// A digit count other than 6 or 8.
    Digits(String),
    /// More parts than `HOTP/Tn/d`.
    UnknownType(String),
    /// The secret is not hex, or not 10 to 128 bytes of it.
    Secret,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::TooFewFields => {
                f.write_str("fewer than four fields (type, user, PIN, secret)")
            }
            Problem::UserName(e) => e.fmt(f),
            Problem::UnsupportedType(t) => write!(f, "token type {t} is not supported"),
            Problem::TimeStep(s) => write!(f, "time step {s} is not 30 or 60 seconds"),
            Problem::CounterBased => {
                f.write_str("counter-based (HOTP) tokens cannot be taken over; time-based only")
            }
            Problem::Digits(d) => write!(f, "{d} digits is not supported (6 or 8)"),
            Problem::UnknownType(t) => write!(f, "token type {t} is not understood"),
            Problem::Secret => write!(
                f,
                "the secret is not {MIN_IMPORTED_SECRET} to {MAX_SECRET_BYTES} bytes of hex"
            ),
        }
    }
}

/// Parses every line but blank and comment lines, in order.
pub fn parse(text: &str) -> Vec<Result<Entry, Refused>> {
    text.lines()
        .enumerate()
        .map(|(i, raw)| (i + 1, raw.trim()))
        .filter(|(_, line)| !line.is_empty() && !line.starts_with('#'))
        .map(|(line, text)| parse_line(line, text))
        .collect()
}

fn parse_line(line: usize, text: &str) -> Result<Entry, Refused> {
    let refused = |problem| Refused { line, problem };
    let mut fields = text.split_whitespace();
    let (Some(kind), Some(user), Some(pin), Some(secret)) =
        (fields.next(), fields.next(), fields.next(), fields.next())
    else {
        return Err(refused(Problem::TooFewFields));
    };
    validate_user_name(user).map_err(|e| refused(Problem::UserName(e)))?;
    let token = token_type(kind).and_then(|params| {
        Ok(Token {
            secret: hex_secret(secret).ok_or(Problem::Secret)?,
            params,
            pin: pin != "-",
        })
    });
    Ok(Entry {
        line,
        user: user.to_owned(),
        token,
    })
}

/// The token type field: `HOTP/T30`, `HOTP/T60/8`; event-based ones are refused.
fn token_type(field: &str) -> Result<TotpParams, Problem> {
    let mut parts = field.split('/');
    if parts.next() != Some("HOTP") {
        return Err(Problem::UnsupportedType(field.to_owned()));
    }
    let period = match parts.next() {
        Some("T30") => 30,
        Some("T60") => 60,
        Some(t) => match t.strip_prefix('T') {
            Some(step) => return Err(Problem::TimeStep(step.to_owned())),
            None => return Err(Problem::CounterBased),
        },
        None => return Err(Problem::CounterBased),
    };
    let digits = match parts.next() {
        None | Some("6") => 6,
        Some("8") => 8,
        Some(d) => return Err(Problem::Digits(d.to_owned())),
    };
    if parts.next().is_some() {
        return Err(Problem::UnknownType(field.to_owned()));
    }
    Ok(TotpParams {
        algorithm: Algorithm::Sha1,
        digits,
        period,
    })
}

/// `text` as hex (either case) of 10 to 128 bytes. A longer field is refused
/// before anything is decoded; what is decoded is wiped unless it is kept.
fn hex_secret(text: &str) -> Option<SecretBytes> {
    if text.len() > 2 * MAX_SECRET_BYTES {
        return None;
    }
    let len = HEXLOWER_PERMISSIVE.decode_len(text.len()).ok()?;
    if len < MIN_IMPORTED_SECRET {
        return None;
    }
    let mut bytes = Zeroizing::new(vec![0; len]);
    HEXLOWER_PERMISSIVE
        .decode_mut(text.as_bytes(), &mut bytes)
        .ok()?;
    Some(SecretBytes::new(std::mem::take(&mut *bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 20 bytes: `12345678901234567890`.
    const HEX: &str = "3132333435363738393031323334353637383930";

    fn one(line: &str) -> Result<Entry, Refused> {
        let mut all = parse(line);
        assert_eq!(all.len(), 1, "{line:?}");
        all.remove(0)
    }

    fn token_problem(line: &str) -> Problem {
        one(line).unwrap().token.unwrap_err()
    }

    #[test]
    fn token_types() {
        let params = |t: &str| token_type(t).map(|p| (p.period, p.digits));
        assert_eq!(params("HOTP/T30"), Ok((30, 6)));
        assert_eq!(params("HOTP/T30/6"), Ok((30, 6)));
        assert_eq!(params("HOTP/T60/8"), Ok((60, 8)));
        assert_eq!(params("HOTP"), Err(Problem::CounterBased));
        assert_eq!(params("HOTP/E/6"), Err(Problem::CounterBased));
        assert_eq!(params("HOTP/T45"), Err(Problem::TimeStep("45".into())));
        assert_eq!(params("HOTP/T30/7"), Err(Problem::Digits("7".into())));
        assert_eq!(
            params("HOTP/T30/6/x"),
            Err(Problem::UnknownType("HOTP/T30/6/x".into()))
        );
        assert_eq!(
            params("TOTP/T30"),
            Err(Problem::UnsupportedType("TOTP/T30".into()))
        );
        assert_eq!(
            Problem::TimeStep("45".into()).to_string(),
            "time step 45 is not 30 or 60 seconds"
        );
    }

    #[test]
    fn a_users_file_line_by_line() {
        let text = format!(
            "# pam_oath users\n\nHOTP/T30 alice - {HEX}\n  HOTP/T60/8\tbob 1234 {} extra\nHOTP carol - {HEX}\nHOTP/T30 dave\n",
            HEX.to_uppercase()
        );
        let lines = parse(&text);
        assert_eq!(lines.len(), 4);
        let alice = lines[0].as_ref().unwrap();
        assert_eq!((alice.line, alice.user.as_str()), (3, "alice"));
        let token = alice.token.as_ref().unwrap();
        assert_eq!(token.secret.expose(), b"12345678901234567890");
        assert_eq!((token.params.period, token.params.digits), (30, 6));
        assert!(!token.pin);
        let bob = lines[1].as_ref().unwrap();
        let token = bob.token.as_ref().unwrap();
        assert_eq!(token.secret.expose(), b"12345678901234567890", "upper case");
        assert_eq!((token.params.period, token.params.digits), (60, 8));
        assert!(token.pin);
        let carol = lines[2].as_ref().unwrap();
        assert_eq!(carol.user, "carol");
        assert_eq!(carol.token.as_ref().unwrap_err(), &Problem::CounterBased);
        assert_eq!(
            lines[3].as_ref().unwrap_err(),
            &Refused {
                line: 6,
                problem: Problem::TooFewFields
            }
        );
    }

    #[test]
    fn bad_user_names_are_refused_before_anything_else() {
        let e = one(&format!("TOTP ../root - {HEX}")).unwrap_err();
        assert_eq!(e.line, 1);
        assert!(matches!(e.problem, Problem::UserName(_)), "{e:?}");
        let long = "a".repeat(1000);
        assert!(matches!(
            one(&format!("HOTP/T30 {long} - {HEX}")),
            Err(Refused {
                problem: Problem::UserName(UserNameError::TooLong),
                ..
            })
        ));
    }

    #[test]
    fn hostile_secrets_are_refused_precisely() {
        let odd = &HEX[1..];
        let not_hex = format!("{}zz", &HEX[2..]);
        for secret in [
            odd,
            &not_hex,
            "31323334353637383930313233343536373839g0",
            "313233343536373839", // 9 bytes
            "-",
            "0x3132333435363738393031",
            "３１３２３３３４３５３６３７３８３９３０",
        ] {
            assert_eq!(
                token_problem(&format!("HOTP/T30 alice - {secret}")),
                Problem::Secret,
                "{secret:?}"
            );
        }
        // 128 bytes are taken, 129 are not, and a megabyte is not decoded at all.
        let max = "ab".repeat(128);
        assert_eq!(
            one(&format!("HOTP/T30 alice - {max}"))
                .unwrap()
                .token
                .unwrap()
                .secret
                .len(),
            128
        );
        let over = "ab".repeat(129);
        assert_eq!(
            token_problem(&format!("HOTP/T30 alice - {over}")),
            Problem::Secret
        );
        let huge = "ab".repeat(1 << 20);
        assert_eq!(
            token_problem(&format!("HOTP/T30 alice - {huge}")),
            Problem::Secret
        );
        assert_eq!(
            Problem::Secret.to_string(),
            "the secret is not 10 to 128 bytes of hex"
        );
    }

    #[test]
    fn nothing_but_comments_is_nothing() {
        assert!(parse("").is_empty());
        assert!(parse("# only\n   \n\t# indented comment\n").is_empty());
    }
}
