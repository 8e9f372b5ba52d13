//! Test helpers for other crates (feature `testing`): the behaviour every
//! [`Store`] must have, run against each implementation, natively
//! ([`check_store`]) and, through the component's conformance world, against
//! any host's `store` import ([`store_contract`]).
// Assertions are what this module is for.
#![allow(clippy::panic)]

use crate::store::{Cas, MemoryStore, Store, StoreError, Swap, Versioned};

pub(crate) mod authenticator;
pub use authenticator::{SoftAttestation, SoftAuthenticator};

/// Fails the contract with `what` was expected and what the store did.
macro_rules! expect {
    ($what:expr, $got:expr, $want:expr) => {{
        let got = $got;
        let want = $want;
        if got != want {
            return Err(format!(
                "{}: the store answered {:?}, not {:?}",
                $what, got, want
            ));
        }
    }};
}

/// Checks `store` against the store contract, and panics on the first
/// broken promise (see [`store_contract`]).
pub fn check_store(store: &dyn Store) {
    if let Err(broken) = store_contract(store) {
        panic!("the store contract is broken: {broken}");
    }
}

/// The store contract: versions start at 1 and grow by one per write, a
/// compare-and-swap with the wrong expectation writes nothing, deletes are
/// writes, `keys` lists a prefix in order, a swap-and-add adds only when it
/// swaps and never over a present key. The first broken promise, named, as
/// `Err`. `store` must be empty; the contract writes the keys `a`, `ab`, `b`,
/// `r`, `s`, `e/1` and `e/2`.
pub fn store_contract(store: &dyn Store) -> Result<(), String> {
    let io = |what: &str, e: crate::StoreError| format!("{what}: the store failed: {e}");
    let get = |key: &str| store.get(key).map_err(|e| io(&format!("get {key:?}"), e));
    let cas = |key: &str, expected: Option<u64>, value: Option<&[u8]>| {
        store
            .compare_and_swap(key, expected, value)
            .map_err(|e| io(&format!("compare-and-swap {key:?} over {expected:?}"), e))
    };
    let keys = |prefix: &str| {
        store
            .keys(prefix)
            .map_err(|e| io(&format!("keys {prefix:?}"), e))
    };
    let found = |version: u64, value: &[u8]| {
        Some(Versioned {
            version,
            value: value.to_vec(),
        })
    };

    expect!("get of a key never written", get("a")?, None);
    expect!(
        "compare-and-swap over version 1 of an absent key",
        cas("a", Some(1), Some(b"x"))?,
        Cas::Conflict
    );
    expect!(
        "creating a key",
        cas("a", None, Some(b"one"))?,
        Cas::Swapped(1)
    );
    expect!(
        "creating a key that exists",
        cas("a", None, Some(b"again"))?,
        Cas::Conflict
    );
    expect!("get of a new key", get("a")?, found(1, b"one"));
    expect!(
        "writing over the version read",
        cas("a", Some(1), Some(b"two"))?,
        Cas::Swapped(2)
    );
    expect!(
        "writing over a stale version",
        cas("a", Some(1), Some(b"stale"))?,
        Cas::Conflict
    );
    expect!("get after a refused write", get("a")?, found(2, b"two"));
    expect!(
        "creating an empty value",
        cas("ab", None, Some(b""))?,
        Cas::Swapped(1)
    );
    expect!(
        "creating a third key",
        cas("b", None, Some(b""))?,
        Cas::Swapped(1)
    );
    expect!(
        "keys under a prefix, in order",
        keys("a")?,
        vec!["a".to_owned(), "ab".to_owned()]
    );
    expect!(
        "deleting over the version read",
        cas("a", Some(2), None)?,
        Cas::Swapped(3)
    );
    expect!("get of a deleted key", get("a")?, None);
    expect!("keys after a delete", keys("a")?, vec!["ab".to_owned()]);

    expect!(
        "creating a record",
        cas("r", None, Some(b"r1"))?,
        Cas::Swapped(1)
    );
    expect!(
        "creating an event",
        cas("e/2", None, Some(b"old"))?,
        Cas::Swapped(1)
    );
    let add = [
        ("e/1".to_owned(), b"one".to_vec()),
        ("e/2".to_owned(), b"two".to_vec()),
    ];
    let swap_and_add = |key: &str, expected: Option<u64>, value: &[u8]| {
        store
            .swap_and_add(key, expected, value, &add)
            .map_err(|e| io(&format!("swap-and-add {key:?} over {expected:?}"), e))
    };
    expect!(
        "swap-and-add over a stale version",
        swap_and_add("r", Some(7), b"stale")?,
        Swap::Conflict
    );
    expect!("an event added after a conflict", get("e/1")?, None);
    expect!(
        "swap-and-add over the version read, one event's key taken",
        swap_and_add("r", Some(1), b"r2")?,
        Swap::Swapped {
            version: 2,
            present: Ok(vec!["e/2".to_owned()])
        }
    );
    expect!(
        "the record a swap-and-add wrote",
        get("r")?,
        found(2, b"r2")
    );
    expect!(
        "the event a swap-and-add added",
        get("e/1")?,
        found(1, b"one")
    );
    expect!(
        "an event whose key was taken",
        get("e/2")?,
        found(1, b"old")
    );
    expect!(
        "swap-and-add creating a record, with no events",
        store
            .swap_and_add("s", None, b"s1", &[])
            .map_err(|e| io("swap-and-add \"s\" over None", e))?,
        Swap::Swapped {
            version: 1,
            present: Ok(Vec::new())
        }
    );
    Ok(())
}

/// A store that breaks one promise of the contract: an update answers the
/// version it wrote over, not the new one (what a hand-written store that
/// forgets `+ 1` does). For tests that show the contract names it, natively
/// and through a host's store import.
#[derive(Debug, Default)]
pub struct OffByOne(pub MemoryStore);

impl Store for OffByOne {
    fn get(&self, key: &str) -> Result<Option<Versioned>, StoreError> {
        self.0.get(key)
    }
    fn compare_and_swap(
        &self,
        key: &str,
        expected: Option<u64>,
        value: Option<&[u8]>,
    ) -> Result<Cas, StoreError> {
        match self.0.compare_and_swap(key, expected, value)? {
            Cas::Swapped(v) if expected.is_some() && value.is_some() => Ok(Cas::Swapped(v - 1)),
            other => Ok(other),
        }
    }
    fn keys(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        self.0.keys(prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::{store_contract, OffByOne};
    use crate::store::MemoryStore;

    #[test]
    fn a_store_that_breaks_a_promise_is_named_at_that_promise() {
        assert_eq!(store_contract(&MemoryStore::new()), Ok(()));
        assert_eq!(
            store_contract(&OffByOne::default()),
            Err(
                "writing over the version read: the store answered Swapped(1), not Swapped(2)"
                    .to_owned()
            )
        );
    }
}
