//! Field parsers that refuse bad values inside deserialisation, so the TOML
//! parser reports them with the value's position.

use crate::time::{format_duration, parse_duration};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serializer};
use std::time::Duration;

pub(super) fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let text = String::deserialize(d)?;
    parse_duration(&text).map_err(|e| D::Error::custom(format!("{text:?}: {e}")))
}

pub(super) fn duration_text<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format_duration(*d))
}

/// A duration between `MIN` and `MAX` seconds.
pub(super) fn duration_in<'de, D: Deserializer<'de>, const MIN: u64, const MAX: u64>(
    d: D,
) -> Result<Duration, D::Error> {
    let v = duration(d)?;
    if v.as_secs() < MIN || v.as_secs() > MAX {
        return Err(D::Error::custom(format!(
            "must be between {} and {}",
            format_duration(Duration::from_secs(MIN)),
            format_duration(Duration::from_secs(MAX))
        )));
    }
    Ok(v)
}

/// An integer between `MIN` and `MAX`.
pub(super) fn int_in<'de, D: Deserializer<'de>, const MIN: i64, const MAX: i64>(
    d: D,
) -> Result<u32, D::Error> {
    let v = i64::deserialize(d)?;
    if !(MIN..=MAX).contains(&v) {
        return Err(D::Error::custom(format!(
            "{v} is out of range: must be between {MIN} and {MAX}"
        )));
    }
    u32::try_from(v).map_err(|_| D::Error::custom("out of range"))
}

pub(super) fn digits<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    match i64::deserialize(d)? {
        6 => Ok(6),
        8 => Ok(8),
        v => Err(D::Error::custom(format!(
            "{v} digits: authenticator apps support 6 or 8"
        ))),
    }
}

pub(super) fn period<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let v = duration(d)?;
    match v.as_secs() {
        30 | 60 => Ok(v),
        _ => Err(D::Error::custom("must be \"30s\" or \"60s\"")),
    }
}

pub(super) fn issuer<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let v = String::deserialize(d)?;
    if v.is_empty() || v.len() > 64 || v.contains(':') || v.chars().any(char::is_control) {
        return Err(D::Error::custom(
            "must be 1 to 64 characters without ':' or control characters",
        ));
    }
    Ok(v)
}

pub(super) fn names<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let v = Vec::<String>::deserialize(d)?;
    for name in &v {
        if name.is_empty() || name.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(D::Error::custom(format!("{name:?} is not a valid name")));
        }
    }
    Ok(v)
}

pub(super) fn prefixes<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let v = Vec::<String>::deserialize(d)?;
    for p in &v {
        let digits = p.strip_prefix('+').unwrap_or("");
        let ok = (1..=4).contains(&digits.len())
            && digits.bytes().all(|b| b.is_ascii_digit())
            && !digits.starts_with('0');
        if !ok {
            return Err(D::Error::custom(format!(
                "{p:?} is not a country prefix; write + and 1 to 4 digits, e.g. \"+44\""
            )));
        }
    }
    Ok(v)
}

pub(super) fn sms_text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let v = String::deserialize(d)?;
    if v.chars().count() > 200 || v.chars().any(char::is_control) {
        return Err(D::Error::custom(
            "must be one line of at most 200 characters",
        ));
    }
    let mut rest = v.as_str();
    let mut code = false;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let close = after
            .find('}')
            .ok_or_else(|| D::Error::custom("a '{' without its '}'"))?;
        match &after[..close] {
            "code" => code = true,
            "expires" | "issuer" => {}
            other => {
                return Err(D::Error::custom(format!(
                    "{{{other}}} is not a placeholder: use {{code}}, {{expires}} and {{issuer}}"
                )))
            }
        }
        rest = &after[close + 1..];
    }
    if !code {
        return Err(D::Error::custom("must hold {code}"));
    }
    Ok(v)
}

pub(super) fn origin<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let v = String::deserialize(d)?;
    let host = !v.is_empty()
        && v.len() <= 253
        && v.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        });
    if !v.is_empty() && !host {
        return Err(D::Error::custom(
            "must be a host name in lower case, like login.example.com (or \"\" for none)",
        ));
    }
    Ok(v)
}

/// Web origins: `https://HOST[:PORT]`, or `http://localhost[:PORT]` (the one
/// plain-HTTP origin browsers let use WebAuthn), host in lower case, no path.
pub(super) fn web_origins<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let list = Vec::<String>::deserialize(d)?;
    if list.len() > 16 {
        return Err(D::Error::custom("at most 16 origins"));
    }
    for v in &list {
        let rest = v.strip_prefix("https://").or_else(|| {
            v.strip_prefix("http://")
                .filter(|r| r.split(':').next() == Some("localhost"))
        });
        let ok = rest.is_some_and(|rest| {
            let (host, port) = match rest.split_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (rest, None),
            };
            let host_ok = !host.is_empty()
                && host.len() <= 253
                && host.split('.').all(|label| {
                    !label.is_empty()
                        && label.len() <= 63
                        && label
                            .bytes()
                            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                });
            let port_ok = port
                .is_none_or(|p| !p.is_empty() && !p.starts_with('0') && p.parse::<u16>().is_ok());
            host_ok && port_ok
        });
        if !ok {
            return Err(D::Error::custom(format!(
                "{:?}: an origin is https://HOST or https://HOST:PORT in lower case, without a path (http:// only for localhost)",
                v.chars().take(100).collect::<String>()
            )));
        }
    }
    Ok(list)
}

/// AAGUIDs in their usual form: 32 lower-case hex digits in groups of
/// 8-4-4-4-12.
pub(super) fn aaguids<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let list = Vec::<String>::deserialize(d)?;
    if list.len() > 256 {
        return Err(D::Error::custom("at most 256 AAGUIDs"));
    }
    for v in &list {
        let groups: Vec<&str> = v.split('-').collect();
        let ok = groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12])
            && groups.iter().all(|g| {
                g.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            });
        if !ok {
            return Err(D::Error::custom(format!(
                "{:?}: an AAGUID looks like cb69481e-8ff7-4039-93ec-0a2729a154a8 (lower-case hex)",
                v.chars().take(100).collect::<String>()
            )));
        }
    }
    Ok(list)
}

/// PEM certificates of authenticator vendors' attestation roots, each a
/// usable trust anchor.
pub(super) fn attestation_roots<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let text = String::deserialize(d)?;
    let roots = crate::webauthn::AttestationRoots::from_pem(&text).map_err(D::Error::custom)?;
    if roots.is_empty() && !text.trim().is_empty() {
        return Err(D::Error::custom(
            "no -----BEGIN CERTIFICATE----- block: give the vendors' root certificates in PEM",
        ));
    }
    Ok(text)
}

/// An identity provider's page: `https://HOST[:PORT]/PATH` (or `http://`
/// for localhost), printable ASCII without spaces or quotes, at most 200
/// characters; empty for none.
pub(super) fn page_url<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let v = String::deserialize(d)?;
    if v.is_empty() {
        return Ok(v);
    }
    let host = if let Some(rest) = v.strip_prefix("https://") {
        Some(rest)
    } else {
        v.strip_prefix("http://localhost")
            .filter(|r| r.is_empty() || r.starts_with(':') || r.starts_with('/'))
            .map(|_| "localhost")
    };
    let printable = v.len() <= 200
        && v.bytes()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b'"' | b'\'' | b'<' | b'>' | b'\\'));
    let host_ok = host.is_some_and(|h| !h.is_empty() && !h.starts_with('/'));
    if !(printable && host_ok) {
        return Err(D::Error::custom(format!(
            "{:?}: a page is https://HOST/PATH (http:// only for localhost), at most 200 characters, without spaces or quotes",
            v.chars().take(100).collect::<String>()
        )));
    }
    Ok(v)
}
