//! The few parts of an attestation certificate that the certificate library
//! does not expose: its subject's attributes and the FIDO AAGUID extension.
//! A bounded DER reader (definite lengths only, at most four length bytes);
//! the certificate library has already parsed and checked the whole
//! certificate by the time these run, so a failure here is a refusal, never
//! a panic.

use super::WebAuthnError;

const SEQUENCE: u8 = 0x30;
const SET: u8 = 0x31;
const OID: u8 = 0x06;
const OCTET_STRING: u8 = 0x04;
const BOOLEAN: u8 = 0x01;
/// `[3] EXPLICIT`: a certificate's extensions.
const EXTENSIONS: u8 = 0xa3;

/// `id-fido-gen-ce-aaguid`, 1.3.6.1.4.1.45724.1.1.4, as DER content.
const AAGUID_EXTENSION: &[u8] = &[
    0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0xe5, 0x1c, 0x01, 0x01, 0x04,
];

/// Subject attribute types (2.5.4.x) as DER content.
pub(super) const COUNTRY: &[u8] = &[0x55, 0x04, 0x06];
pub(super) const ORGANIZATION: &[u8] = &[0x55, 0x04, 0x0a];
pub(super) const ORGANIZATIONAL_UNIT: &[u8] = &[0x55, 0x04, 0x0b];
pub(super) const COMMON_NAME: &[u8] = &[0x55, 0x04, 0x03];

fn bad(why: &'static str) -> WebAuthnError {
    WebAuthnError::Attestation(why)
}

/// One tag-length-value from the front of `rest`, which then starts after it.
fn tlv<'a>(rest: &mut &'a [u8]) -> Result<(u8, &'a [u8]), WebAuthnError> {
    let malformed = || bad("the attestation certificate is not well-formed DER");
    let (&tag, after) = rest.split_first().ok_or_else(malformed)?;
    let (&first, mut after) = after.split_first().ok_or_else(malformed)?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 || after.len() < count {
            return Err(malformed());
        }
        let (bytes, tail) = after.split_at(count);
        after = tail;
        bytes.iter().fold(0usize, |n, b| (n << 8) | usize::from(*b))
    };
    if after.len() < len {
        return Err(malformed());
    }
    let (value, tail) = after.split_at(len);
    *rest = tail;
    Ok((tag, value))
}

/// The content of an item that must have `tag`.
fn expect<'a>(rest: &mut &'a [u8], tag: u8) -> Result<&'a [u8], WebAuthnError> {
    match tlv(rest)? {
        (t, value) if t == tag => Ok(value),
        _ => Err(bad(
            "the attestation certificate has an unexpected structure",
        )),
    }
}

/// The items of a certificate's TBSCertificate, in order.
fn tbs_items(certificate: &[u8]) -> Result<Vec<(u8, &[u8])>, WebAuthnError> {
    let mut rest = certificate;
    let mut cert = expect(&mut rest, SEQUENCE)?;
    let mut tbs = expect(&mut cert, SEQUENCE)?;
    let mut items = Vec::new();
    while !tbs.is_empty() {
        items.push(tlv(&mut tbs)?);
    }
    Ok(items)
}

/// The subject name: the sixth item with a version, the fifth without.
fn subject(certificate: &[u8]) -> Result<&[u8], WebAuthnError> {
    let items = tbs_items(certificate)?;
    let skip = usize::from(items.first().is_some_and(|(tag, _)| *tag == 0xa0));
    match items.get(4 + skip) {
        Some((SEQUENCE, name)) => Ok(name),
        _ => Err(bad("the attestation certificate has no subject")),
    }
}

/// The certificate's subject, read once: each attribute's type (its OID's
/// DER content) and the bytes of its string.
pub(super) struct Subject<'a>(Vec<(&'a [u8], &'a [u8])>);

impl<'a> Subject<'a> {
    /// Reads the subject of `certificate`.
    pub(super) fn read(certificate: &'a [u8]) -> Result<Subject<'a>, WebAuthnError> {
        let mut name = subject(certificate)?;
        let mut attributes = Vec::new();
        while !name.is_empty() {
            let mut set = expect(&mut name, SET)?;
            while !set.is_empty() {
                let mut attribute = expect(&mut set, SEQUENCE)?;
                let oid = expect(&mut attribute, OID)?;
                let (_, value) = tlv(&mut attribute)?;
                attributes.push((oid, value));
            }
        }
        Ok(Subject(attributes))
    }

    /// The values of the attributes of `kind` (one of the constants above).
    pub(super) fn values(&self, kind: &[u8]) -> Vec<&'a [u8]> {
        self.0
            .iter()
            .filter(|(oid, _)| *oid == kind)
            .map(|(_, value)| *value)
            .collect()
    }
}

/// The AAGUID the certificate's `id-fido-gen-ce-aaguid` extension names, if
/// it has one (an OCTET STRING of 16 bytes inside the extension's value).
pub(super) fn aaguid_extension(certificate: &[u8]) -> Result<Option<[u8; 16]>, WebAuthnError> {
    let items = tbs_items(certificate)?;
    let Some((_, extensions)) = items.iter().find(|(tag, _)| *tag == EXTENSIONS) else {
        return Ok(None);
    };
    let mut outer = *extensions;
    let mut list = expect(&mut outer, SEQUENCE)?;
    while !list.is_empty() {
        let mut extension = expect(&mut list, SEQUENCE)?;
        let oid = expect(&mut extension, OID)?;
        if oid != AAGUID_EXTENSION {
            continue;
        }
        let (mut tag, mut value) = tlv(&mut extension)?;
        if tag == BOOLEAN {
            // The critical flag: this extension must not be critical.
            if value != [0x00] {
                return Err(bad("the AAGUID extension is marked critical"));
            }
            (tag, value) = tlv(&mut extension)?;
        }
        if tag != OCTET_STRING {
            return Err(bad("the AAGUID extension's value is not an OCTET STRING"));
        }
        let mut inner = value;
        let aaguid = expect(&mut inner, OCTET_STRING)?;
        return match <[u8; 16]>::try_from(aaguid) {
            Ok(aaguid) if inner.is_empty() => Ok(Some(aaguid)),
            _ => Err(bad("the AAGUID extension does not hold 16 bytes")),
        };
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_that_overrun_or_overflow_are_refused() {
        for junk in [
            &[0x30, 0x05, 0x01][..],
            &[0x30, 0x85, 1, 1, 1, 1, 1],
            &[0x30, 0x80],
            &[0x30],
            &[],
        ] {
            assert!(tbs_items(junk).is_err(), "{junk:?}");
        }
        assert_eq!(
            tlv(&mut &[0x04, 0x81, 0x01, 0xaa][..]).unwrap(),
            (0x04, &[0xaa][..])
        );
    }
}
