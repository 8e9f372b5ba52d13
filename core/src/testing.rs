//! Test helpers for other crates (feature `testing`): the behaviour every
//! [`Store`] must have, run against each implementation.
// Assertions are what this module is for.
#![allow(clippy::unwrap_used, clippy::panic)]

use crate::store::{Cas, Store};

/// Checks `store` against the store contract: versions start at 1 and grow by
/// one per write, a compare-and-swap with the wrong expectation writes
/// nothing, deletes are writes, `keys` lists a prefix in order. Panics on the
/// first broken promise. `store` must be empty.
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
}
