//! The state service's wire format: the client sends one request frame and
//! reads one response frame, over and over, on one Unix socket connection.
//!
//! A frame is a little-endian `u32` body length, then the body. A request body
//! starts with the protocol version ([`VERSION`]) and an operation byte; a
//! response body with a tag byte. Strings and byte strings are a `u32` length
//! and the bytes; an optional field is a 0/1 byte and then the field. Every
//! length is checked against what is left, so no input can make either side
//! allocate more than the frame limit or panic.

use planasonix_core::store::{Cas, IoFailure, IoKind, StoreError, Versioned};
use std::io::{self, Read, Write};

/// Request operations: the byte after the version.
mod op {
    pub(super) const GET: u8 = 1;
    pub(super) const CAS: u8 = 2;
    pub(super) const KEYS: u8 = 3;
    pub(super) const COMMIT: u8 = 4;
    /// Newer than the other four: a service built before it answers
    /// "unknown operation 5" and closes the connection.
    pub(super) const SWAP_AND_ADD: u8 = 5;
    /// [`planasonix_core::Store::get_past_rollback`]; a service built
    /// before it answers "unknown operation 6" (it remembers nothing).
    pub(super) const GET_PAST_ROLLBACK: u8 = 6;
}

/// Response tags: the first byte of a response. Answers below 16, failures
/// ([`StoreError`]) from 16.
mod tag {
    pub(super) const ABSENT: u8 = 0;
    pub(super) const VALUE: u8 = 1;
    pub(super) const CONFLICT: u8 = 2;
    pub(super) const SWAPPED: u8 = 3;
    pub(super) const KEYS: u8 = 4;
    pub(super) const COMMITTED: u8 = 5;
    /// A swap-and-add that swapped: the version, then the keys found present.
    pub(super) const SWAPPED_ADDED: u8 = 6;
    /// A swap-and-add that swapped but could not add: the version, then the
    /// failure as a whole response body.
    pub(super) const SWAPPED_NOT_ADDED: u8 = 7;
    /// Tags from here on are failures.
    pub(super) const FIRST_FAILURE: u8 = 16;
    pub(super) const BUSY: u8 = 16;
    /// An I/O failure of kind [`super::IoKind::Other`]: just its detail.
    pub(super) const IO: u8 = 17;
    pub(super) const CORRUPT: u8 = 18;
    pub(super) const CONTENTION: u8 = 19;
    pub(super) const UNTRUSTED: u8 = 20;
    pub(super) const TAMPERED: u8 = 21;
    /// An I/O failure of any other kind: the kind's byte, then its detail.
    pub(super) const IO_OF_KIND: u8 = 22;
}

/// The byte each [`IoKind`] travels as after [`tag::IO_OF_KIND`]: one table
/// for both directions. `Other` is not in it: it goes as [`tag::IO`], so that
/// every failure has one encoding.
const KIND_BYTES: [(IoKind, u8); 6] = [
    (IoKind::PermissionDenied, 1),
    (IoKind::NotFound, 2),
    (IoKind::NoSpace, 3),
    (IoKind::ReadOnly, 4),
    (IoKind::Unreachable, 5),
    (IoKind::Corrupt, 6),
];

fn kind_byte(kind: IoKind) -> Option<u8> {
    KIND_BYTES.iter().find(|(k, _)| *k == kind).map(|(_, b)| *b)
}

fn kind_of_byte(byte: u8) -> Result<IoKind, Malformed> {
    KIND_BYTES
        .iter()
        .find(|(_, b)| *b == byte)
        .map(|(k, _)| *k)
        .ok_or_else(|| Malformed(format!("unknown I/O failure kind {byte}")))
}

/// Protocol version; a server refuses any other.
pub const VERSION: u8 = 1;
/// Largest request body a server reads (records are a few KiB).
pub const MAX_REQUEST: usize = 1 << 20;
/// Largest response body a client reads (a key listing of many users).
pub const MAX_RESPONSE: usize = 64 << 20;

/// What a client asks: one [`planasonix_core::Store`] operation each.
#[derive(Debug, PartialEq, Eq)]
pub enum Request {
    /// [`planasonix_core::Store::get`] of this key.
    Get(String),
    /// A get for an admin reset, past the service's rollback refusal
    /// ([`planasonix_core::Store::get_past_rollback`]).
    GetPastRollback(String),
    /// [`planasonix_core::Store::compare_and_swap`].
    Cas {
        /// The key.
        key: String,
        /// The version it must be at (`None`: absent).
        expected: Option<u64>,
        /// The new value (`None`: delete).
        value: Option<Vec<u8>>,
    },
    /// [`planasonix_core::Store::keys`] under this prefix.
    Keys(String),
    /// Makes every write of this connection durable before answering.
    Commit,
    /// [`planasonix_core::Store::swap_and_add`]: a record and its audit
    /// events in one request.
    SwapAndAdd {
        /// The record's key.
        key: String,
        /// The version it must be at (`None`: absent).
        expected: Option<u64>,
        /// The record's new value.
        value: Vec<u8>,
        /// Keys and values to add if absent, once the record swapped.
        add: Vec<(String, Vec<u8>)>,
    },
}

/// What a server answers.
#[derive(Debug, PartialEq, Eq)]
pub enum Response {
    /// A get's answer.
    Value(Option<Versioned>),
    /// A compare-and-swap's answer.
    Cas(Cas),
    /// A key listing.
    Keys(Vec<String>),
    /// The connection's writes are durable.
    Committed,
    /// A swap-and-add that swapped (one that did not is `Cas(Conflict)`).
    Swapped {
        /// The record's new version.
        version: u64,
        /// The added keys found present already, or why adding failed.
        present: Result<Vec<String>, StoreError>,
    },
    /// The operation failed.
    Failed(StoreError),
}

/// A frame that does not follow the format, and why.
#[derive(Debug, PartialEq, Eq)]
pub struct Malformed(pub String);

impl Request {
    /// The request's body.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = vec![VERSION];
        match self {
            Request::Get(key) => {
                w.push(op::GET);
                put_bytes(&mut w, key.as_bytes());
            }
            Request::GetPastRollback(key) => {
                w.push(op::GET_PAST_ROLLBACK);
                put_bytes(&mut w, key.as_bytes());
            }
            Request::Cas {
                key,
                expected,
                value,
            } => {
                w.push(op::CAS);
                put_bytes(&mut w, key.as_bytes());
                put_option(&mut w, expected.as_ref(), |w, v| {
                    w.extend_from_slice(&v.to_le_bytes())
                });
                put_option(&mut w, value.as_ref(), |w, v| put_bytes(w, v));
            }
            Request::Keys(prefix) => {
                w.push(op::KEYS);
                put_bytes(&mut w, prefix.as_bytes());
            }
            Request::Commit => w.push(op::COMMIT),
            Request::SwapAndAdd {
                key,
                expected,
                value,
                add,
            } => {
                w.push(op::SWAP_AND_ADD);
                put_bytes(&mut w, key.as_bytes());
                put_option(&mut w, expected.as_ref(), |w, v| {
                    w.extend_from_slice(&v.to_le_bytes())
                });
                put_bytes(&mut w, value);
                put_len(&mut w, add.len());
                for (k, v) in add {
                    put_bytes(&mut w, k.as_bytes());
                    put_bytes(&mut w, v);
                }
            }
        }
        w
    }

    /// A request body, checked whole.
    pub fn decode(body: &[u8]) -> Result<Request, Malformed> {
        let mut r = Reader(body);
        let version = r.byte()?;
        if version != VERSION {
            return Err(Malformed(format!(
                "protocol version {version}, this service speaks {VERSION}"
            )));
        }
        let request = match r.byte()? {
            op::GET => Request::Get(r.string()?),
            op::GET_PAST_ROLLBACK => Request::GetPastRollback(r.string()?),
            op::CAS => Request::Cas {
                key: r.string()?,
                expected: r.option(Reader::u64)?,
                value: r.option(|r| r.bytes().map(<[u8]>::to_vec))?,
            },
            op::KEYS => Request::Keys(r.string()?),
            op::COMMIT => Request::Commit,
            op::SWAP_AND_ADD => Request::SwapAndAdd {
                key: r.string()?,
                expected: r.option(Reader::u64)?,
                value: r.bytes()?.to_vec(),
                add: {
                    let n = r.len()?;
                    // Each entry takes at least 8 bytes: bounds the allocation.
                    let mut add = Vec::with_capacity(n.min(r.0.len() / 8));
                    for _ in 0..n {
                        add.push((r.string()?, r.bytes()?.to_vec()));
                    }
                    add
                },
            },
            op => return Err(Malformed(format!("unknown operation {op}"))),
        };
        r.end()?;
        Ok(request)
    }
}

impl Response {
    /// The response's body.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Vec::new();
        match self {
            Response::Value(None) => w.push(tag::ABSENT),
            Response::Value(Some(v)) => {
                w.push(tag::VALUE);
                w.extend_from_slice(&v.version.to_le_bytes());
                put_bytes(&mut w, &v.value);
            }
            Response::Cas(Cas::Conflict) => w.push(tag::CONFLICT),
            Response::Cas(Cas::Swapped(version)) => {
                w.push(tag::SWAPPED);
                w.extend_from_slice(&version.to_le_bytes());
            }
            Response::Keys(keys) => {
                w.push(tag::KEYS);
                put_keys(&mut w, keys);
            }
            Response::Committed => w.push(tag::COMMITTED),
            Response::Swapped {
                version,
                present: Ok(keys),
            } => {
                w.push(tag::SWAPPED_ADDED);
                w.extend_from_slice(&version.to_le_bytes());
                put_keys(&mut w, keys);
            }
            Response::Swapped {
                version,
                present: Err(e),
            } => {
                w.push(tag::SWAPPED_NOT_ADDED);
                w.extend_from_slice(&version.to_le_bytes());
                put_bytes(&mut w, &Response::Failed(e.clone()).encode());
            }
            Response::Failed(StoreError::Busy) => w.push(tag::BUSY),
            Response::Failed(StoreError::Io(failure)) => {
                match kind_byte(failure.kind) {
                    Some(kind) => w.extend_from_slice(&[tag::IO_OF_KIND, kind]),
                    None => w.push(tag::IO),
                }
                put_bytes(&mut w, failure.detail.as_bytes());
            }
            Response::Failed(StoreError::Corrupt { key, detail }) => {
                w.push(tag::CORRUPT);
                put_bytes(&mut w, key.as_bytes());
                put_bytes(&mut w, detail.as_bytes());
            }
            Response::Failed(StoreError::Contention) => w.push(tag::CONTENTION),
            Response::Failed(StoreError::Untrusted(why)) => {
                w.push(tag::UNTRUSTED);
                put_bytes(&mut w, why.as_bytes());
            }
            Response::Failed(StoreError::Tampered { key, detail }) => {
                w.push(tag::TAMPERED);
                put_bytes(&mut w, key.as_bytes());
                put_bytes(&mut w, detail.as_bytes());
            }
            // A failure this protocol cannot name yet travels as an I/O
            // failure, with its text.
            Response::Failed(other) => {
                w.push(tag::IO);
                put_bytes(&mut w, other.to_string().as_bytes());
            }
        }
        w
    }

    /// A response body, checked whole.
    pub fn decode(body: &[u8]) -> Result<Response, Malformed> {
        let mut r = Reader(body);
        let response = match r.byte()? {
            tag::ABSENT => Response::Value(None),
            tag::VALUE => Response::Value(Some(Versioned {
                version: r.u64()?,
                value: r.bytes()?.to_vec(),
            })),
            tag::CONFLICT => Response::Cas(Cas::Conflict),
            tag::SWAPPED => Response::Cas(Cas::Swapped(r.u64()?)),
            tag::KEYS => Response::Keys(r.keys()?),
            tag::COMMITTED => Response::Committed,
            tag::SWAPPED_ADDED => Response::Swapped {
                version: r.u64()?,
                present: Ok(r.keys()?),
            },
            tag::SWAPPED_NOT_ADDED => Response::Swapped {
                version: r.u64()?,
                // Only a failure's tag is decoded further, so that no body
                // nests another.
                present: match r.bytes()? {
                    inner @ [first, ..] if *first >= tag::FIRST_FAILURE => {
                        match Response::decode(inner)? {
                            Response::Failed(e) => Err(e),
                            _ => return Err(Malformed("unknown failure".into())),
                        }
                    }
                    _ => return Err(Malformed("a failure to add that is not a failure".into())),
                },
            },
            tag::BUSY => Response::Failed(StoreError::Busy),
            tag::IO => Response::Failed(StoreError::io(IoKind::Other, r.string()?)),
            tag::IO_OF_KIND => Response::Failed(StoreError::Io(IoFailure {
                kind: kind_of_byte(r.byte()?)?,
                detail: r.string()?,
            })),
            tag::CORRUPT => Response::Failed(StoreError::Corrupt {
                key: r.string()?,
                detail: r.string()?,
            }),
            tag::CONTENTION => Response::Failed(StoreError::Contention),
            tag::UNTRUSTED => Response::Failed(StoreError::Untrusted(r.string()?)),
            tag::TAMPERED => Response::Failed(StoreError::Tampered {
                key: r.string()?,
                detail: r.string()?,
            }),
            tag => return Err(Malformed(format!("unknown response tag {tag}"))),
        };
        r.end()?;
        Ok(response)
    }
}

/// Writes `body` as one frame.
pub fn write_frame(out: &mut impl Write, body: &[u8]) -> io::Result<()> {
    let len = u32::try_from(body.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "frame over 4 GiB"))?;
    let mut frame = Vec::with_capacity(4 + body.len());
    frame.extend_from_slice(&len.to_le_bytes());
    frame.extend_from_slice(body);
    out.write_all(&frame)
}

/// Reads one frame of at most `max` bytes; `None` when the peer closed the
/// connection cleanly between frames.
pub fn read_frame(input: &mut impl Read, max: usize) -> io::Result<Option<Vec<u8>>> {
    let mut head = [0u8; 4];
    let mut got = 0;
    while got < head.len() {
        match input.read(&mut head[got..]) {
            Ok(0) if got == 0 => return Ok(None),
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let len = u32::from_le_bytes(head) as usize;
    if len > max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("frame of {len} bytes, limit {max}"),
        ));
    }
    let mut body = vec![0u8; len];
    input.read_exact(&mut body)?;
    Ok(Some(body))
}

fn put_len(w: &mut Vec<u8>, len: usize) {
    // Frames are capped far below 4 GiB, so every length fits.
    w.extend_from_slice(&u32::try_from(len).unwrap_or(u32::MAX).to_le_bytes());
}

fn put_keys(w: &mut Vec<u8>, keys: &[String]) {
    put_len(w, keys.len());
    for key in keys {
        put_bytes(w, key.as_bytes());
    }
}

fn put_bytes(w: &mut Vec<u8>, bytes: &[u8]) {
    put_len(w, bytes.len());
    w.extend_from_slice(bytes);
}

fn put_option<T>(w: &mut Vec<u8>, v: Option<&T>, put: impl FnOnce(&mut Vec<u8>, &T)) {
    match v {
        None => w.push(0),
        Some(v) => {
            w.push(1);
            put(w, v);
        }
    }
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], Malformed> {
        let (head, rest) = self
            .0
            .split_at_checked(n)
            .ok_or_else(|| Malformed(format!("truncated: {n} bytes wanted")))?;
        self.0 = rest;
        Ok(head)
    }

    fn byte(&mut self) -> Result<u8, Malformed> {
        Ok(self.take(1)?[0])
    }

    fn u64(&mut self) -> Result<u64, Malformed> {
        let mut v = [0u8; 8];
        v.copy_from_slice(self.take(8)?);
        Ok(u64::from_le_bytes(v))
    }

    fn len(&mut self) -> Result<usize, Malformed> {
        let mut v = [0u8; 4];
        v.copy_from_slice(self.take(4)?);
        Ok(u32::from_le_bytes(v) as usize)
    }

    fn bytes(&mut self) -> Result<&'a [u8], Malformed> {
        let n = self.len()?;
        self.take(n)
    }

    fn keys(&mut self) -> Result<Vec<String>, Malformed> {
        let n = self.len()?;
        // Each key takes at least its 4-byte length: bounds the allocation.
        let mut keys = Vec::with_capacity(n.min(self.0.len() / 4));
        for _ in 0..n {
            keys.push(self.string()?);
        }
        Ok(keys)
    }

    fn string(&mut self) -> Result<String, Malformed> {
        let bytes = self.bytes()?;
        String::from_utf8(bytes.to_vec()).map_err(|_| Malformed("string is not UTF-8".into()))
    }

    fn option<T>(
        &mut self,
        read: impl FnOnce(&mut Self) -> Result<T, Malformed>,
    ) -> Result<Option<T>, Malformed> {
        match self.byte()? {
            0 => Ok(None),
            1 => read(self).map(Some),
            b => Err(Malformed(format!("option flag {b}"))),
        }
    }

    fn end(&self) -> Result<(), Malformed> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(Malformed(format!("{} trailing bytes", self.0.len())))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn requests() -> Vec<Request> {
        vec![
            Request::Get("user/alice".into()),
            Request::GetPastRollback("user/alice".into()),
            Request::Cas {
                key: "user/bob".into(),
                expected: Some(7),
                value: Some(vec![0, 1, 2, 255]),
            },
            Request::Cas {
                key: "k".into(),
                expected: None,
                value: None,
            },
            Request::Keys("user/".into()),
            Request::Commit,
            Request::SwapAndAdd {
                key: "user/carol".into(),
                expected: Some(3),
                value: b"sealed".to_vec(),
                add: vec![
                    ("audit/carol/0000000000000007".into(), b"{}".to_vec()),
                    ("audit/carol/0000000000000008".into(), Vec::new()),
                ],
            },
            Request::SwapAndAdd {
                key: "user/dave".into(),
                expected: None,
                value: Vec::new(),
                add: Vec::new(),
            },
        ]
    }

    fn responses() -> Vec<Response> {
        vec![
            Response::Value(None),
            Response::Value(Some(Versioned {
                version: u64::MAX,
                value: b"sealed".to_vec(),
            })),
            Response::Cas(Cas::Conflict),
            Response::Cas(Cas::Swapped(2)),
            Response::Keys(vec!["a".into(), "ab".into()]),
            Response::Committed,
            Response::Swapped {
                version: 4,
                present: Ok(vec!["audit/carol/0000000000000007".into()]),
            },
            Response::Swapped {
                version: 1,
                present: Ok(Vec::new()),
            },
            Response::Swapped {
                version: 9,
                present: Err(StoreError::io(IoKind::NoSpace, "disk full")),
            },
            Response::Failed(StoreError::Busy),
            Response::Failed(StoreError::io(IoKind::NoSpace, "disk full")),
            Response::Failed(StoreError::io(IoKind::PermissionDenied, "p")),
            Response::Failed(StoreError::io(IoKind::NotFound, "n")),
            Response::Failed(StoreError::io(IoKind::ReadOnly, "r")),
            Response::Failed(StoreError::io(IoKind::Unreachable, "u")),
            Response::Failed(StoreError::io(IoKind::Corrupt, "c")),
            Response::Failed(StoreError::io(IoKind::Other, "odd")),
            Response::Failed(StoreError::Corrupt {
                key: "user/x".into(),
                detail: "short".into(),
            }),
            Response::Failed(StoreError::Contention),
            Response::Failed(StoreError::Untrusted("client uid 1000".into())),
            Response::Failed(StoreError::Tampered {
                key: "user/x".into(),
                detail: "tag".into(),
            }),
        ]
    }

    #[test]
    fn every_message_round_trips() {
        for r in requests() {
            assert_eq!(Request::decode(&r.encode()), Ok(r));
        }
        for r in responses() {
            assert_eq!(Response::decode(&r.encode()), Ok(r));
        }
    }

    #[test]
    fn every_truncation_and_extension_is_refused() {
        for r in requests() {
            let body = r.encode();
            for cut in 0..body.len() {
                assert!(Request::decode(&body[..cut]).is_err(), "{r:?} cut at {cut}");
            }
            let mut longer = body.clone();
            longer.push(0);
            assert!(Request::decode(&longer).is_err(), "{r:?} extended");
        }
        for r in responses() {
            let body = r.encode();
            for cut in 0..body.len() {
                assert!(
                    Response::decode(&body[..cut]).is_err(),
                    "{r:?} cut at {cut}"
                );
            }
        }
    }

    #[test]
    fn other_versions_unknown_operations_and_bad_text_are_named() {
        let mut body = Request::Commit.encode();
        body[0] = 9;
        assert!(Request::decode(&body).unwrap_err().0.contains("version 9"));
        assert!(Request::decode(&[VERSION, 77])
            .unwrap_err()
            .0
            .contains("unknown operation 77"));
        let mut get = vec![VERSION, 1];
        put_bytes(&mut get, &[0xff, 0xfe]);
        assert!(Request::decode(&get).unwrap_err().0.contains("UTF-8"));
        // A key count far beyond the body does not allocate for it.
        assert!(Response::decode(&[4, 0xff, 0xff, 0xff, 0xff]).is_err());
        // What could not be added is a failure: no answer nests another.
        let mut nested = vec![tag::SWAPPED_NOT_ADDED];
        nested.extend_from_slice(&9u64.to_le_bytes());
        let inner = Response::Swapped {
            version: 1,
            present: Ok(Vec::new()),
        };
        put_bytes(&mut nested, &inner.encode());
        assert!(Response::decode(&nested)
            .unwrap_err()
            .0
            .contains("not a failure"));
    }

    #[test]
    fn frames_round_trip_and_oversized_frames_are_refused_before_reading() {
        let mut wire = Vec::new();
        write_frame(&mut wire, b"hello").unwrap();
        write_frame(&mut wire, b"").unwrap();
        let mut input = wire.as_slice();
        assert_eq!(read_frame(&mut input, 16).unwrap().unwrap(), b"hello");
        assert_eq!(read_frame(&mut input, 16).unwrap().unwrap(), b"");
        assert!(read_frame(&mut input, 16).unwrap().is_none());

        let huge = (u32::MAX).to_le_bytes();
        let e = read_frame(&mut huge.as_slice(), MAX_REQUEST).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
        // A length cut short, or a body cut short, is an error, not a clean end.
        assert!(read_frame(&mut [5u8, 0].as_slice(), 16).is_err());
        assert!(read_frame(&mut [5u8, 0, 0, 0, b'h'].as_slice(), 16).is_err());
    }
}
