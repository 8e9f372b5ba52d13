//! Points in time and human-readable durations.
//!
//! The core never reads a clock: every operation takes `now` as a [`UnixTime`].

use core::fmt;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Seconds since the Unix epoch, as handed in by the caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UnixTime(pub u64);

impl UnixTime {
    /// This instant plus `d`, saturating at the end of time.
    pub fn plus(self, d: Duration) -> UnixTime {
        UnixTime(self.0.saturating_add(d.as_secs()))
    }

    /// This instant minus `d`, saturating at the epoch.
    pub fn minus(self, d: Duration) -> UnixTime {
        UnixTime(self.0.saturating_sub(d.as_secs()))
    }

    /// How long after `earlier` this instant is (zero if it is not after it).
    pub fn since(self, earlier: UnixTime) -> Duration {
        Duration::from_secs(self.0.saturating_sub(earlier.0))
    }
}

impl fmt::Display for UnixTime {
    /// RFC 3339 in UTC, e.g. `2026-11-28T04:05:06Z`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.0;
        let days = (secs / 86_400) as i64;
        let rem = secs % 86_400;
        let (y, m, d) = civil_from_days(days);
        write!(
            f,
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
            rem / 3600,
            (rem / 60) % 60,
            rem % 60
        )
    }
}

/// Howard Hinnant's days-to-civil algorithm (proleptic Gregorian calendar).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// The longest duration a policy may name: ten years. Anything longer is a typo.
pub const MAX_DURATION: Duration = Duration::from_secs(10 * 366 * 86_400);

/// Why a duration string was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DurationError {
    /// The string was empty.
    Empty,
    /// A leading `-`: durations are never negative.
    Negative,
    /// A number without a unit, e.g. `"30"`.
    MissingUnit,
    /// A unit other than `s`, `m`, `h`, `d`, `w`.
    UnknownUnit(char),
    /// Something that is neither a digit nor a unit.
    Malformed,
    /// Longer than [`MAX_DURATION`].
    TooLong,
}

impl fmt::Display for DurationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DurationError::Empty => {
                f.write_str("empty duration; write e.g. \"30s\", \"5m\", \"14d\"")
            }
            DurationError::Negative => f.write_str("durations cannot be negative"),
            DurationError::MissingUnit => {
                f.write_str("number without a unit; add s, m, h, d or w (e.g. \"30s\")")
            }
            DurationError::UnknownUnit(c) => {
                write!(f, "unknown unit {c:?}; use s, m, h, d or w")
            }
            DurationError::Malformed => {
                f.write_str("not a duration; write e.g. \"30s\", \"5m\", \"1h30m\", \"14d\"")
            }
            DurationError::TooLong => f.write_str("duration longer than ten years"),
        }
    }
}

impl std::error::Error for DurationError {}

/// Parses `"30s"`, `"5m"`, `"2h"`, `"14d"`, `"1w"` and sums like `"1h30m"`.
pub fn parse_duration(text: &str) -> Result<Duration, DurationError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(DurationError::Empty);
    }
    if text.starts_with('-') {
        return Err(DurationError::Negative);
    }
    let mut total: u64 = 0;
    let mut number: Option<u64> = None;
    for c in text.chars() {
        if let Some(digit) = c.to_digit(10) {
            let n = number.unwrap_or(0);
            let n = n
                .checked_mul(10)
                .and_then(|n| n.checked_add(u64::from(digit)))
                .ok_or(DurationError::TooLong)?;
            number = Some(n);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 7 * 86_400,
            c if c.is_ascii_alphabetic() => return Err(DurationError::UnknownUnit(c)),
            _ => return Err(DurationError::Malformed),
        };
        let n = number.take().ok_or(DurationError::Malformed)?;
        total = n
            .checked_mul(unit)
            .and_then(|v| total.checked_add(v))
            .ok_or(DurationError::TooLong)?;
    }
    if number.is_some() {
        return Err(DurationError::MissingUnit);
    }
    let d = Duration::from_secs(total);
    if d > MAX_DURATION {
        return Err(DurationError::TooLong);
    }
    Ok(d)
}

/// Formats a duration the way [`parse_duration`] reads it back, e.g. `"1d2h"`.
pub fn format_duration(d: Duration) -> String {
    let mut secs = d.as_secs();
    if secs == 0 {
        return "0s".to_owned();
    }
    let mut out = String::new();
    for (unit, size) in [('d', 86_400), ('h', 3600), ('m', 60), ('s', 1)] {
        if secs >= size {
            out.push_str(&(secs / size).to_string());
            out.push(unit);
            secs %= size;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units_and_sums() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("14d"), Ok(Duration::from_secs(14 * 86_400)));
        assert_eq!(parse_duration("1w"), Ok(Duration::from_secs(604_800)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
    }

    #[test]
    fn refuses_bad_durations_precisely() {
        assert_eq!(parse_duration(""), Err(DurationError::Empty));
        assert_eq!(parse_duration("-5m"), Err(DurationError::Negative));
        assert_eq!(parse_duration("30"), Err(DurationError::MissingUnit));
        assert_eq!(parse_duration("5y"), Err(DurationError::UnknownUnit('y')));
        assert_eq!(parse_duration("m"), Err(DurationError::Malformed));
        assert_eq!(parse_duration("5 m"), Err(DurationError::Malformed));
        assert_eq!(parse_duration("99999w"), Err(DurationError::TooLong));
        assert_eq!(
            parse_duration("99999999999999999999999s"),
            Err(DurationError::TooLong)
        );
    }

    #[test]
    fn formats_round_trip() {
        for s in ["0s", "30s", "5m", "1h30m", "14d", "1d2h3m4s"] {
            let d = parse_duration(s).unwrap();
            assert_eq!(parse_duration(&format_duration(d)).unwrap(), d);
        }
        assert_eq!(format_duration(Duration::from_secs(5400)), "1h30m");
    }

    #[test]
    fn displays_rfc3339() {
        assert_eq!(UnixTime(0).to_string(), "1970-01-01T00:00:00Z");
        assert_eq!(UnixTime(1_111_111_111).to_string(), "2005-03-18T01:58:31Z");
        assert_eq!(UnixTime(2_000_000_000).to_string(), "2033-05-18T03:33:20Z");
    }
}
