//! Versioned key/value storage with compare-and-swap.
//!
//! Every state change in the engine is read → compute → compare-and-swap, retried
//! on conflict, so two logins racing on one user can never both spend a recovery
//! code or both accept one TOTP step. Implementations: [`MemoryStore`] (tests,
//! scenarios), `planasonix_native::SledStore`, and the component's `store` import.

mod memory;

pub use memory::MemoryStore;

use core::fmt;

/// A stored value and its version. Versions start at 1 and grow by one per write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Versioned {
    /// Version of this value.
    pub version: u64,
    /// The bytes.
    pub value: Vec<u8>,
}

/// Result of a compare-and-swap.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cas {
    /// Written; the new version.
    Swapped(u64),
    /// The stored version was not the expected one; nothing was written.
    Conflict,
}

/// What [`Store::swap_and_add`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Swap {
    /// The stored version was not the expected one; nothing was written.
    Conflict,
    /// The value was written, at `version`. `present`: the keys to add that
    /// were there already (left as they were), or why adding failed (the
    /// value stands).
    Swapped {
        /// The value's new version.
        version: u64,
        /// The additions' outcome.
        present: Result<Vec<String>, StoreError>,
    },
}

/// What kind of I/O failure a [`StoreError::Io`] is, for callers that decide
/// on it (the CLI's exit status, an admin's hint).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum IoKind {
    /// This process may not read or write it.
    PermissionDenied,
    /// It does not exist.
    NotFound,
    /// Its filesystem is (nearly) full.
    NoSpace,
    /// Its filesystem is read-only.
    ReadOnly,
    /// The state service did not answer, or answered garbage.
    Unreachable,
    /// The database files do not read back.
    Corrupt,
    /// Anything else.
    Other,
}

impl IoKind {
    /// The kind of an OS error.
    pub fn of(kind: std::io::ErrorKind) -> IoKind {
        use std::io::ErrorKind as K;
        match kind {
            K::PermissionDenied => IoKind::PermissionDenied,
            K::NotFound => IoKind::NotFound,
            K::StorageFull | K::QuotaExceeded => IoKind::NoSpace,
            K::ReadOnlyFilesystem => IoKind::ReadOnly,
            K::ConnectionRefused | K::ConnectionReset | K::BrokenPipe | K::TimedOut => {
                IoKind::Unreachable
            }
            K::InvalidData | K::UnexpectedEof => IoKind::Corrupt,
            _ => IoKind::Other,
        }
    }
}

/// An I/O failure: its kind, and what failed where, for people.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IoFailure {
    /// What kind of failure.
    pub kind: IoKind,
    /// What failed where (a path, the OS error), without Rust's
    /// "(os error N)" suffix.
    pub detail: String,
}

impl StoreError {
    /// An I/O failure of `kind`.
    pub fn io(kind: IoKind, detail: impl Into<String>) -> StoreError {
        StoreError::Io(IoFailure {
            kind,
            detail: detail.into(),
        })
    }

    /// An OS error `e` while doing `what` (a path, an action): kind from the
    /// error, detail `what: error`.
    pub fn os(what: impl fmt::Display, e: &std::io::Error) -> StoreError {
        let text = e.to_string();
        let plain = text.find(" (os error").map_or(&text[..], |i| &text[..i]);
        StoreError::io(IoKind::of(e.kind()), format!("{what}: {plain}"))
    }

    /// The I/O failure's kind, if this is one.
    pub fn io_kind(&self) -> Option<IoKind> {
        match self {
            StoreError::Io(f) => Some(f.kind),
            _ => None,
        }
    }
}

/// Why the store could not serve a request.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreError {
    /// Another process kept the database for longer than the wait allows.
    Busy,
    /// The database, its directory or the state service cannot be read,
    /// written or reached.
    Io(IoFailure),
    /// A stored record does not decode.
    Corrupt {
        /// The record's key.
        key: String,
        /// What is wrong with it.
        detail: String,
    },
    /// A record kept changing under us; the operation gave up after many retries.
    Contention,
    /// The state service or the database is in a place, or run by a user,
    /// that this process must not trust (who, where, and why).
    Untrusted(String),
    /// A stored record fails its authentication: it was changed without the
    /// seal key. It is refused, never reset.
    Tampered {
        /// The record's key.
        key: String,
        /// What does not match.
        detail: String,
    },
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::Busy => f.write_str(
                "database busy: another planasonix process kept it open; try again in a moment",
            ),
            StoreError::Io(failure) => write!(f, "database unusable: {}", failure.detail),
            StoreError::Corrupt { key, detail } => {
                write!(f, "stored record {key:?} is corrupt: {detail}")
            }
            StoreError::Contention => {
                f.write_str("too many concurrent changes to one record; try again")
            }
            StoreError::Untrusted(why) => write!(f, "refusing the database: {why}"),
            StoreError::Tampered { key, detail } => write!(
                f,
                "stored record {key:?} was altered without the seal key and is refused: {detail}"
            ),
        }
    }
}

/// A versioned key/value store.
pub trait Store: Send + Sync {
    /// The current value of `key`, if any.
    fn get(&self, key: &str) -> Result<Option<Versioned>, StoreError>;

    /// Writes `value` (or deletes, with `None`) if the current version of `key`
    /// is `expected` (`None` = absent).
    fn compare_and_swap(
        &self,
        key: &str,
        expected: Option<u64>,
        value: Option<&[u8]>,
    ) -> Result<Cas, StoreError>;

    /// Every key starting with `prefix`, in order.
    fn keys(&self, prefix: &str) -> Result<Vec<String>, StoreError>;

    /// Writes `value` over `key` at version `expected`, like
    /// [`Store::compare_and_swap`], and only if that swapped, adds each of
    /// `add` (keys that should be absent: a change's audit events) unless
    /// present. A store that can do both in one request overrides this (the
    /// state service, PostgreSQL); the default is one swap, then one
    /// compare-and-swap per addition ([`swap_then_add`]).
    fn swap_and_add(
        &self,
        key: &str,
        expected: Option<u64>,
        value: &[u8],
        add: &[(String, Vec<u8>)],
    ) -> Result<Swap, StoreError> {
        swap_then_add(self, key, expected, value, add)
    }

    /// [`Store::get`] for an admin reset, which replaces the record whatever
    /// it holds: past a refusal a store makes on its own account (the state
    /// service refuses a record older than one it wrote, a rollback), never
    /// past a failure to read it. Wrappers forward it; the default is `get`.
    fn get_past_rollback(&self, key: &str) -> Result<Option<Versioned>, StoreError> {
        self.get(key)
    }

    /// Whether every record here must be in the authenticated form, whatever
    /// the database says: true for a shared store, whose administrator is
    /// not trusted and could otherwise delete the upgrade mark and plant an
    /// old, unauthenticated record. False (the default) for a database that
    /// may still hold records from before authentication.
    fn authenticated_only(&self) -> bool {
        false
    }
}

/// [`Store::swap_and_add`] as separate requests: one swap, then one
/// compare-and-swap per addition. What a store that cannot do better does,
/// and what one that can falls back to.
pub fn swap_then_add<S: Store + ?Sized>(
    store: &S,
    key: &str,
    expected: Option<u64>,
    value: &[u8],
    add: &[(String, Vec<u8>)],
) -> Result<Swap, StoreError> {
    let version = match store.compare_and_swap(key, expected, Some(value))? {
        Cas::Conflict => return Ok(Swap::Conflict),
        Cas::Swapped(version) => version,
    };
    let mut present = Vec::new();
    for (k, v) in add {
        match store.compare_and_swap(k, None, Some(v)) {
            Ok(Cas::Swapped(_)) => {}
            Ok(Cas::Conflict) => present.push(k.clone()),
            Err(e) => {
                return Ok(Swap::Swapped {
                    version,
                    present: Err(e),
                })
            }
        }
    }
    Ok(Swap::Swapped {
        version,
        present: Ok(present),
    })
}

/// Encodes a version and value into one stored byte string (for byte stores).
pub fn encode_versioned(version: u64, value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + value.len());
    out.extend_from_slice(&version.to_be_bytes());
    out.extend_from_slice(value);
    out
}

/// The inverse of [`encode_versioned`].
pub fn decode_versioned(key: &str, raw: &[u8]) -> Result<Versioned, StoreError> {
    let (head, value) = raw.split_at_checked(8).ok_or_else(|| StoreError::Corrupt {
        key: key.to_owned(),
        detail: "shorter than its version header".into(),
    })?;
    let mut v = [0u8; 8];
    v.copy_from_slice(head);
    Ok(Versioned {
        version: u64::from_be_bytes(v),
        value: value.to_vec(),
    })
}
