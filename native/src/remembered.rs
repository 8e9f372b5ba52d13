//! One login's records, read once: what its first transaction read of a
//! user's record is what its next transaction starts from.
//!
//! A PAM login runs two short transactions on the store: the decision reads
//! the user's record; the verification, seconds later, reads it again, changes
//! it and swaps it in. On a fleet host each read is a round trip to the state
//! service and from there to PostgreSQL. [`Remembering`] keeps the records
//! one login has read or written and hands them to its later transactions
//! instead of asking the store again.
//!
//! Why a remembered record cannot let anything through that a fresh read
//! would refuse: every change to a record is a compare-and-swap on the
//! version it was read at, and every accepted code changes the record (the
//! TOTP step, the recovery code, the MFA mark, the audit count). If anything
//! wrote the record since (the same code used on another host, a lockout
//! reached elsewhere, an admin reset), the swap conflicts, the remembered
//! record is dropped, and the engine's retry reads the store. What a stale
//! record can still do is refuse: a code checked against a lockout an admin
//! has lifted since the prompt, which the user's next attempt no longer sees.
//!
//! A version is never reused: the engine never deletes a user record (an
//! admin reset writes a new version of it), so "version 7" read before the
//! prompt is the same record as "version 7" at the swap. That holds within
//! one database. A host moved to the shared store while a login sits at its
//! prompt (the service restarted on PostgreSQL in between) swaps against the
//! copy `planasonix store copy` made, which keeps each record's version and
//! bytes: the same record. Only where the fleet already held a different
//! record of that user at that very version (`store copy` reports it as
//! different and keeps the fleet's) could such a login's write land on it;
//! move hosts with no login in progress. Only user records are
//! remembered (`user/…`), never audit events or other keys; a failed read or
//! write forgets the key.

use crate::call::Transactions;
use planasonix_core::record::USER_KEY_PREFIX;
use planasonix_core::store::{Cas, Store, StoreError, Swap, Versioned};
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

/// Transactions on `T` whose reads of a user record are remembered for the
/// later transactions of the same login (see the module's docs). Keep one
/// for one login only.
pub struct Remembering<T> {
    inner: T,
    /// A user record's key → what it held when last read or written here
    /// (`None`: absent).
    records: Mutex<HashMap<String, Option<Versioned>>>,
}

impl<T> Remembering<T> {
    /// Remembers nothing yet.
    pub fn new(inner: T) -> Remembering<T> {
        Remembering {
            inner,
            records: Mutex::new(HashMap::new()),
        }
    }

    /// The transactions it remembers for.
    pub fn inner(&self) -> &T {
        &self.inner
    }
}

// The records are sealed, but their sizes and versions are nobody's business.
impl<T: std::fmt::Debug> std::fmt::Debug for Remembering<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Remembering")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl<T: Transactions> Transactions for Remembering<T> {
    fn transaction<R, E: From<StoreError>>(
        &self,
        work: impl FnOnce(&dyn Store) -> Result<R, E>,
    ) -> Result<R, E> {
        self.inner.transaction(|store| {
            work(&Recalling {
                store,
                records: &self.records,
            })
        })
    }

    fn read_afresh(&self) {
        self.records
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        self.inner.read_afresh();
    }
}

/// One transaction's store, answering remembered records from memory.
struct Recalling<'a> {
    store: &'a dyn Store,
    records: &'a Mutex<HashMap<String, Option<Versioned>>>,
}

impl Recalling<'_> {
    /// After a write of `value` to `key`: what it holds now when the write
    /// went in at version `swapped`; otherwise (someone else wrote it, or
    /// nobody knows what happened) nothing, so that the next read asks the
    /// store.
    fn wrote(&self, key: &str, swapped: Option<u64>, value: Option<&[u8]>) {
        if !remembered(key) {
            return;
        }
        let mut records = self.records();
        match swapped {
            Some(version) => {
                let now = value.map(|v| Versioned {
                    version,
                    value: v.to_vec(),
                });
                records.insert(key.to_owned(), now);
            }
            None => {
                records.remove(key);
            }
        }
    }

    fn records(&self) -> MutexGuard<'_, HashMap<String, Option<Versioned>>> {
        // A panic elsewhere cannot leave the map half-written: every change
        // to it is one insert or remove.
        self.records.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn remembered(key: &str) -> bool {
    key.starts_with(USER_KEY_PREFIX)
}

impl Store for Recalling<'_> {
    fn get(&self, key: &str) -> Result<Option<Versioned>, StoreError> {
        if !remembered(key) {
            return self.store.get(key);
        }
        if let Some(known) = self.records().get(key) {
            return Ok(known.clone());
        }
        match self.store.get(key) {
            Ok(found) => {
                self.records().insert(key.to_owned(), found.clone());
                Ok(found)
            }
            Err(e) => {
                self.records().remove(key);
                Err(e)
            }
        }
    }

    /// Always the store's answer (an admin reset replaces what is there).
    fn get_past_rollback(&self, key: &str) -> Result<Option<Versioned>, StoreError> {
        self.store.get_past_rollback(key)
    }

    fn compare_and_swap(
        &self,
        key: &str,
        expected: Option<u64>,
        value: Option<&[u8]>,
    ) -> Result<Cas, StoreError> {
        let outcome = self.store.compare_and_swap(key, expected, value);
        let swapped = match outcome {
            Ok(Cas::Swapped(version)) => Some(version),
            _ => None,
        };
        self.wrote(key, swapped, value);
        outcome
    }

    fn swap_and_add(
        &self,
        key: &str,
        expected: Option<u64>,
        value: &[u8],
        add: &[(String, Vec<u8>)],
    ) -> Result<Swap, StoreError> {
        let outcome = self.store.swap_and_add(key, expected, value, add);
        let swapped = match &outcome {
            Ok(Swap::Swapped { version, .. }) => Some(*version),
            _ => None,
        };
        self.wrote(key, swapped, Some(value));
        outcome
    }

    fn keys(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        self.store.keys(prefix)
    }

    fn authenticated_only(&self) -> bool {
        self.store.authenticated_only()
    }
}
