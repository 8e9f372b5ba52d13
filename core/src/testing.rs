//! Test helpers for other crates (feature `testing`): the behaviour every
//! [`Store`] must have, run against each implementation.
// Assertions are what this module is for.
#![allow(clippy::unwrap_used, clippy::panic)]

use crate::store::{Cas, Store, Swap, Versioned};

/// Checks `store` against the store contract: versions start at 1 and grow by
/// one per write, a compare-and-swap with the wrong expectation writes
/// nothing, deletes are writes, `keys` lists a prefix in order, a
/// swap-and-add adds only when it swaps and never over a present key. Panics
/// on the first broken promise. `store` must be empty.
pub fn check_store(store: &dyn Store) {
    assert_eq!(store.get("a").unwrap(), None);
    assert_eq!(
        store.compare_and_swap("a", Some(1), Some(b"x")).unwrap(),
        Cas::Conflict
    );
    assert_eq!(
        store.compare_and_swap("a", None, Some(b"one")).unwrap(),
        Cas::Swapped(1)
    );
    assert_eq!(
        store.compare_and_swap("a", None, Some(b"again")).unwrap(),
        Cas::Conflict
    );
    let v = store.get("a").unwrap().unwrap();
    assert_eq!((v.version, v.value.as_slice()), (1, &b"one"[..]));
    assert_eq!(
        store.compare_and_swap("a", Some(1), Some(b"two")).unwrap(),
        Cas::Swapped(2)
    );
    assert_eq!(
        store
            .compare_and_swap("a", Some(1), Some(b"stale"))
            .unwrap(),
        Cas::Conflict
    );
    assert_eq!(store.get("a").unwrap().unwrap().value, b"two");
    store.compare_and_swap("ab", None, Some(b"")).unwrap();
    store.compare_and_swap("b", None, Some(b"")).unwrap();
    assert_eq!(
        store.keys("a").unwrap(),
        vec!["a".to_owned(), "ab".to_owned()]
    );
    assert_eq!(
        store.compare_and_swap("a", Some(2), None).unwrap(),
        Cas::Swapped(3)
    );
    assert_eq!(store.get("a").unwrap(), None);
    assert_eq!(store.keys("a").unwrap(), vec!["ab".to_owned()]);

    store.compare_and_swap("r", None, Some(b"r1")).unwrap();
    store.compare_and_swap("e/2", None, Some(b"old")).unwrap();
    let add = [
        ("e/1".to_owned(), b"one".to_vec()),
        ("e/2".to_owned(), b"two".to_vec()),
    ];
    assert_eq!(
        store.swap_and_add("r", Some(7), b"stale", &add).unwrap(),
        Swap::Conflict
    );
    assert_eq!(store.get("e/1").unwrap(), None, "added after a conflict");
    assert_eq!(
        store.swap_and_add("r", Some(1), b"r2", &add).unwrap(),
        Swap::Swapped {
            version: 2,
            present: Ok(vec!["e/2".to_owned()])
        }
    );
    assert_eq!(store.get("r").unwrap().unwrap().value, b"r2");
    assert_eq!(
        store.get("e/1").unwrap(),
        Some(Versioned {
            version: 1,
            value: b"one".to_vec()
        })
    );
    assert_eq!(store.get("e/2").unwrap().unwrap().value, b"old");
    assert_eq!(
        store.swap_and_add("s", None, b"s1", &[]).unwrap(),
        Swap::Swapped {
            version: 1,
            present: Ok(Vec::new())
        }
    );
}
