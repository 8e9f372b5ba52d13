//! The `~/.google_authenticator` file that pam_google_authenticator reads:
//! the base32 secret on the first line, then option lines (`" TOTP_AUTH`,
//! `" STEP_SIZE 30`, …) and 8-digit scratch codes, one per line.

use super::MIN_IMPORTED_SECRET;
use crate::shared::{secret_from_base32, Base32SecretError};
use planasonix_core::{SecretBytes, SecretString};
use std::fmt;

/// What the file holds that Planasonix takes over.
#[derive(Debug)]
pub struct GoogleAuthenticator {
    /// The shared secret.
    pub secret: SecretBytes,
    /// Seconds per code: 30 or 60.
    pub period: u64,
    /// The emergency scratch codes, in file order.
    pub scratch_codes: Vec<SecretString>,
    /// What became of each other option, in file order.
    pub notes: Vec<Note>,
}

/// An option that is reported rather than refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Note {
    /// `DISALLOW_REUSE`: what Planasonix always does.
    DisallowReuse,
    /// `WINDOW_SIZE`: the policy sets the window.
    WindowSize,
    /// `RATE_LIMIT`: the policy's lockout applies.
    RateLimit,
    /// An option this parser does not know.
    Unknown(String),
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Note::DisallowReuse => {
                f.write_str("taken: DISALLOW_REUSE (Planasonix never accepts a code twice)")
            }
            Note::WindowSize => f.write_str(
                "not taken: WINDOW_SIZE (the policy's totp.skew sets the accepted window)",
            ),
            Note::RateLimit => {
                f.write_str("not taken: RATE_LIMIT (the policy's [lockout] applies)")
            }
            Note::Unknown(option) => write!(f, "not taken: unknown option {option}"),
        }
    }
}

/// Why a file cannot be taken over, and on which line (1-based).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Malformed {
    /// The line.
    pub line: usize,
    /// What is wrong with it.
    pub problem: Problem,
}

/// What is wrong with a line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Problem {
    /// Nothing in the file.
    Empty,
    /// The first line is not a usable base32 secret.
    Secret(Base32SecretError),
    /// `HOTP_COUNTER`: counter-based codes.
    CounterBased,
    /// `STEP_SIZE` other than 30 or 60.
    StepSize,
    /// Neither an option nor a scratch code.
    Unrecognised,
    /// No `TOTP_AUTH` line anywhere.
    NotTimeBased,
    /// More scratch codes than google-authenticator ever writes.
    TooManyScratchCodes,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Empty => f.write_str("empty file; expected the base32 secret"),
            Problem::Secret(e) => e.fmt(f),
            Problem::CounterBased => f.write_str(
                "counter-based (HOTP) secrets cannot be taken over: Planasonix uses time-based codes; enroll again",
            ),
            Problem::StepSize => f.write_str("STEP_SIZE must be 30 or 60 seconds to be taken over"),
            Problem::Unrecognised => f.write_str("neither an option nor an 8-digit scratch code"),
            Problem::NotTimeBased => f.write_str(
                "no \" TOTP_AUTH line: only time-based secrets can be taken over",
            ),
            Problem::TooManyScratchCodes => write!(
                f,
                "more than {MAX_SCRATCH_CODES} scratch codes (google-authenticator writes at most {MAX_SCRATCH_CODES}): not a file it wrote"
            ),
        }
    }
}

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.problem)
    }
}

/// The most scratch codes google-authenticator writes (its
/// `MAX_SCRATCH_CODES`). Each imported code is hashed while the database is
/// open, so a file the target user wrote must not bring more.
const MAX_SCRATCH_CODES: usize = 10;

/// Parses the file's text.
pub fn parse(text: &str) -> Result<GoogleAuthenticator, Malformed> {
    let at = |line: usize, problem: Problem| Malformed { line, problem };
    let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l.trim()));
    let Some((_, first)) = lines.next() else {
        return Err(at(1, Problem::Empty));
    };
    let secret =
        secret_from_base32(first, MIN_IMPORTED_SECRET).map_err(|e| at(1, Problem::Secret(e)))?;
    let mut period = 30;
    let mut totp = false;
    let mut scratch_codes = Vec::new();
    let mut notes = Vec::new();
    for (n, line) in lines {
        if line.is_empty() {
            continue;
        }
        if let Some(option) = line.strip_prefix('"') {
            let mut words = option.split_whitespace();
            match words.next() {
                Some("TOTP_AUTH") => totp = true,
                Some("HOTP_COUNTER") => return Err(at(n, Problem::CounterBased)),
                Some("STEP_SIZE") => {
                    period = match words.next().and_then(|w| w.parse::<u64>().ok()) {
                        Some(p @ (30 | 60)) => p,
                        _ => return Err(at(n, Problem::StepSize)),
                    }
                }
                Some("DISALLOW_REUSE") => notes.push(Note::DisallowReuse),
                Some("WINDOW_SIZE") => notes.push(Note::WindowSize),
                Some("RATE_LIMIT") => notes.push(Note::RateLimit),
                Some(other) => notes.push(Note::Unknown(other.to_owned())),
                None => {}
            }
        } else if line.len() == 8 && line.bytes().all(|b| b.is_ascii_digit()) {
            if scratch_codes.len() == MAX_SCRATCH_CODES {
                return Err(at(n, Problem::TooManyScratchCodes));
            }
            scratch_codes.push(SecretString::new(line.to_owned()));
        } else {
            return Err(at(n, Problem::Unrecognised));
        }
    }
    if !totp {
        return Err(at(1, Problem::NotTimeBased));
    }
    Ok(GoogleAuthenticator {
        secret,
        period,
        scratch_codes,
        notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "VRFUKCO6TCFC5QCRTNYKZQRS7Y";

    fn problem(text: &str) -> (usize, Problem) {
        let e = parse(text).unwrap_err();
        (e.line, e.problem)
    }

    #[test]
    fn a_file_google_authenticator_wrote() {
        let ga = parse(&format!(
            "{SECRET}\n\" RATE_LIMIT 3 30\n\" WINDOW_SIZE 3\n\" DISALLOW_REUSE\n\" TOTP_AUTH\n83142923\n26078706\n"
        ))
        .unwrap();
        assert_eq!(ga.period, 30);
        assert_eq!(ga.secret.len(), 16);
        let codes: Vec<&str> = ga.scratch_codes.iter().map(|c| c.expose()).collect();
        assert_eq!(codes, ["83142923", "26078706"]);
        assert_eq!(
            ga.notes,
            [Note::RateLimit, Note::WindowSize, Note::DisallowReuse]
        );
        assert_eq!(
            ga.notes[1].to_string(),
            "not taken: WINDOW_SIZE (the policy's totp.skew sets the accepted window)"
        );
    }

    #[test]
    fn more_scratch_codes_than_google_authenticator_writes_are_refused() {
        // Each imported code costs a PBKDF2 hash while the database is open:
        // a user who writes a million "scratch codes" into the file an admin
        // imports would hold every login up for hours.
        let codes = |n: usize| {
            (0..n)
                .map(|i| format!("{:08}\n", 10_000_000 + i))
                .collect::<String>()
        };
        let ten = parse(&format!("{SECRET}\n\" TOTP_AUTH\n{}", codes(10))).unwrap();
        assert_eq!(ten.scratch_codes.len(), 10);
        let (line, problem) = problem(&format!("{SECRET}\n\" TOTP_AUTH\n{}", codes(100_000)));
        assert_eq!((line, problem.clone()), (13, Problem::TooManyScratchCodes));
        assert_eq!(
            problem.to_string(),
            "more than 10 scratch codes (google-authenticator writes at most 10): not a file it wrote"
        );
    }

    #[test]
    fn step_size_crlf_blank_lines_and_unknown_options() {
        let ga = parse(&format!(
            "{SECRET}\r\n\r\n\" STEP_SIZE 60\r\n\" NEW_OPTION 1\r\n\"\r\n\" TOTP_AUTH\r\n"
        ))
        .unwrap();
        assert_eq!(ga.period, 60);
        assert!(ga.scratch_codes.is_empty());
        assert_eq!(ga.notes, [Note::Unknown("NEW_OPTION".into())]);
        assert_eq!(
            ga.notes[0].to_string(),
            "not taken: unknown option NEW_OPTION"
        );
    }

    #[test]
    fn each_refusal_names_its_line() {
        assert_eq!(problem(""), (1, Problem::Empty));
        assert_eq!(
            problem(&format!("{SECRET}\n")),
            (1, Problem::NotTimeBased),
            "without TOTP_AUTH"
        );
        assert_eq!(
            problem(&format!("{SECRET}\n\" HOTP_COUNTER 1\n\" TOTP_AUTH\n")),
            (2, Problem::CounterBased)
        );
        for step in ["45", "", "thirty", "-30", "99999999999999999999999"] {
            assert_eq!(
                problem(&format!("{SECRET}\n\" TOTP_AUTH\n\" STEP_SIZE {step}\n")),
                (3, Problem::StepSize),
                "{step:?}"
            );
        }
        assert_eq!(
            problem("not base32!\n\" TOTP_AUTH\n"),
            (1, Problem::Secret(Base32SecretError::NotBase32))
        );
        assert_eq!(
            problem("GEZDGNBV\n\" TOTP_AUTH\n"),
            (
                1,
                Problem::Secret(Base32SecretError::Length { len: 5, min: 10 })
            )
        );
        for bad in [
            "hello",
            "1234567",
            "123456789",
            "1234567a",
            "１２３４５６７８",
        ] {
            assert_eq!(
                problem(&format!("{SECRET}\n\" TOTP_AUTH\n{bad}\n")),
                (3, Problem::Unrecognised),
                "{bad:?}"
            );
        }
        let e = parse(&format!("{SECRET}\n\" HOTP_COUNTER 1\n")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "line 2: counter-based (HOTP) secrets cannot be taken over: Planasonix uses time-based codes; enroll again"
        );
    }

    #[test]
    fn hostile_input_is_refused_not_panicked_on() {
        // A first line of a megabyte of base32: decoded, then refused by length.
        let huge = "A".repeat(1 << 20);
        assert!(matches!(
            problem(&format!("{huge}\n\" TOTP_AUTH\n")),
            (1, Problem::Secret(Base32SecretError::Length { .. }))
        ));
        // A huge line later on, and control characters.
        assert_eq!(
            problem(&format!("{SECRET}\n\" TOTP_AUTH\n{huge}x\n")),
            (3, Problem::Unrecognised)
        );
        assert_eq!(
            problem(&format!("{SECRET}\n\" TOTP_AUTH\n\u{0}\u{1b}[2J\n")),
            (3, Problem::Unrecognised)
        );
        // Multi-byte characters where a secret or a code is expected.
        assert_eq!(
            problem("ÄÖÜ\n\" TOTP_AUTH\n"),
            (1, Problem::Secret(Base32SecretError::NotBase32))
        );
    }
}
