//! How a set's code hashes are stored.
//!
//! Schema 2 keeps them as one base64 string of the concatenated 32-byte
//! hashes and a parallel list of use times:
//! `{"hashes":"…","used_at":[null,1800000000,…]}`. Schema 1 had one object
//! per code (`[{"hash":"…","used_at":null},…]`); it is still read. The compact
//! form is what makes a login cheap: every TOTP login decodes and re-encodes
//! the record, and ten separately encoded hashes were a third of its cost.

use super::{StoredCode, HASH_LEN};
use crate::codec::{b64, Text};
use crate::time::UnixTime;
use data_encoding::BASE64;
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::ser::SerializeStruct;
use serde::{Deserialize, Deserializer, Serializer};
use std::fmt;

pub(super) fn serialize<S: Serializer>(codes: &[StoredCode], s: S) -> Result<S::Ok, S::Error> {
    let mut blob = Vec::with_capacity(codes.len() * HASH_LEN);
    for c in codes {
        blob.extend_from_slice(&c.hash);
    }
    let mut out = s.serialize_struct("Codes", 2)?;
    out.serialize_field("hashes", &BASE64.encode(&blob))?;
    out.serialize_field("used_at", &UsedAt(codes))?;
    out.end()
}

struct UsedAt<'a>(&'a [StoredCode]);

impl serde::Serialize for UsedAt<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(|c| c.used_at))
    }
}

pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<StoredCode>, D::Error> {
    d.deserialize_any(CodesVisitor)
}

fn hash_from<E: de::Error>(bytes: &[u8]) -> Result<[u8; HASH_LEN], E> {
    bytes.try_into().map_err(|_| {
        E::custom(format!(
            "recovery code hash of {} bytes, want {HASH_LEN}",
            bytes.len()
        ))
    })
}

/// A schema-1 code.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LegacyCode {
    #[serde(with = "b64")]
    hash: Vec<u8>,
    used_at: Option<UnixTime>,
}

struct CodesVisitor;

impl<'de> Visitor<'de> for CodesVisitor {
    type Value = Vec<StoredCode>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("recovery code hashes (an object, or a list in schema 1)")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut codes = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(code) = seq.next_element::<LegacyCode>()? {
            codes.push(StoredCode {
                hash: hash_from(&code.hash)?,
                used_at: code.used_at,
            });
        }
        Ok(codes)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut hashes: Option<Vec<u8>> = None;
        let mut used_at: Option<Vec<Option<UnixTime>>> = None;
        while let Some(Text(key)) = map.next_key::<Text<'de>>()? {
            match key.as_ref() {
                "hashes" if hashes.is_none() => {
                    let Text(text) = map.next_value::<Text<'de>>()?;
                    let bytes = BASE64
                        .decode(text.as_bytes())
                        .map_err(|e| de::Error::custom(format!("bad base64: {e}")))?;
                    hashes = Some(bytes);
                }
                "used_at" if used_at.is_none() => used_at = Some(map.next_value()?),
                other => {
                    return Err(de::Error::custom(format!(
                        "unexpected or repeated field {other:?} in recovery codes"
                    )))
                }
            }
        }
        let hashes = hashes.ok_or_else(|| de::Error::missing_field("hashes"))?;
        let used_at = used_at.ok_or_else(|| de::Error::missing_field("used_at"))?;
        if hashes.len() != used_at.len() * HASH_LEN {
            return Err(de::Error::custom(format!(
                "{} bytes of recovery code hashes for {} codes",
                hashes.len(),
                used_at.len()
            )));
        }
        hashes
            .chunks_exact(HASH_LEN)
            .zip(used_at)
            .map(|(hash, used_at)| {
                Ok(StoredCode {
                    hash: hash_from(hash)?,
                    used_at,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {

    fn pepper_key() -> crate::SealKey {
        crate::SealKey::from_bytes(&[7; 32]).unwrap()
    }
    use super::super::{normalize_recovery_code, NewRecoveryCodes, RecoverySet};
    use crate::random::SeededRandom;
    use crate::time::UnixTime;
    use data_encoding::BASE64;
    use serde_json::{json, Value};

    fn sample() -> NewRecoveryCodes {
        let key = pepper_key();
        let pepper = key.pepper(crate::seal::PepperFor::Recovery, "alice");
        let mut new =
            RecoverySet::generate(&mut SeededRandom::new(9), 3, UnixTime(10), &pepper).unwrap();
        let canon = normalize_recovery_code(new.display[2].expose()).unwrap();
        assert!(new.set.consume(canon.expose(), UnixTime(20), &pepper));
        new
    }

    /// The same set in the schema-1 form: one object per code.
    fn as_schema_1(set: &RecoverySet) -> Value {
        let mut v = serde_json::to_value(set).unwrap();
        let hashes = BASE64
            .decode(v["codes"]["hashes"].as_str().unwrap().as_bytes())
            .unwrap();
        let used = v["codes"]["used_at"].as_array().unwrap().clone();
        let codes: Vec<Value> = hashes
            .chunks(32)
            .zip(used)
            .map(|(h, u)| json!({ "hash": BASE64.encode(h), "used_at": u }))
            .collect();
        v["codes"] = Value::Array(codes);
        v
    }

    #[test]
    fn compact_form_round_trips() {
        let new = sample();
        let text = serde_json::to_string(&new.set).unwrap();
        assert!(text.contains(r#""used_at":[null,null,20]"#), "{text}");
        let back: RecoverySet = serde_json::from_str(&text).unwrap();
        assert_eq!(back, new.set);
    }

    #[test]
    fn schema_1_sets_still_work() {
        let key = pepper_key();
        let pepper = key.pepper(crate::seal::PepperFor::Recovery, "alice");
        let mut new = sample();
        let legacy = as_schema_1(&new.set);
        assert!(legacy["codes"].is_array());
        let mut read: RecoverySet = serde_json::from_value(legacy).unwrap();
        assert_eq!(read, new.set);
        assert_eq!(read.remaining(), 2);
        let first = normalize_recovery_code(new.display[0].expose()).unwrap();
        assert!(read.consume(first.expose(), UnixTime(30), &pepper));
        assert!(new.set.consume(first.expose(), UnixTime(30), &pepper));
        assert_eq!(read, new.set);
    }

    #[test]
    fn malformed_hash_lists_are_refused_with_the_reason() {
        let good = serde_json::to_value(&sample().set).unwrap();
        let refused = |edit: &dyn Fn(&mut Value)| {
            let mut v = good.clone();
            edit(&mut v);
            serde_json::from_value::<RecoverySet>(v)
                .unwrap_err()
                .to_string()
        };
        let e = refused(&|v| v["codes"]["used_at"] = json!([null]));
        assert!(
            e.contains("96 bytes of recovery code hashes for 1 codes"),
            "{e}"
        );
        let e = refused(&|v| v["codes"]["hashes"] = json!("not base64!"));
        assert!(e.contains("bad base64"), "{e}");
        let e = refused(&|v| v["codes"]["extra"] = json!(1));
        assert!(e.contains("\"extra\""), "{e}");
        let e = refused(&|v| {
            v["codes"].as_object_mut().unwrap().remove("hashes");
        });
        assert!(e.contains("missing field `hashes`"), "{e}");
        let e = refused(&|v| v["codes"] = json!([{ "hash": "AAAA", "used_at": null }]));
        assert!(e.contains("hash of 3 bytes, want 32"), "{e}");
        let e = refused(&|v| v["codes"] = json!(7));
        assert!(e.contains("recovery code hashes"), "{e}");
    }
}
