//! What this host's state service wrote to a shared store, remembered so
//! that a record put back later is refused (defence in depth against
//! whoever administers the database: they cannot forge a record, but they
//! can put back an older one, which would make a spent code work again, or
//! delete one, which would open a password-only grace period).
//!
//! Per user record the service remembers, from each write that passed
//! through it (written by root's logins and commands, which hold the seal
//! key): the version, the audit count and the sessions count
//! ([`planasonix_core::record::Facts`]), and whether a factor was enrolled.
//! A read then refuses, as [`StoreError::Tampered`]:
//! - a lower version than the one written (a row put back whole);
//! - fewer audited changes than written and no reset, lock or change of
//!   factors since (an old value put back under a newer version: every
//!   accepted code is an audited change);
//! - no record, where one with a factor was written.
//!
//! The client's engine audits the refusal at error level and the login
//! fails closed; `planasonix admin reset` replaces the record
//! ([`Store::get_past_rollback`]), and that write is remembered in turn.
//! Reads teach it nothing (the service cannot check a record's tag), so a
//! host refuses only what is older than what it wrote itself. Kept in a
//! small sled database beside the socket (`<db>.seen`), so a restart
//! remembers.

use planasonix_core::record::{unverified_facts, Facts, USER_KEY_PREFIX};
use planasonix_core::store::{Cas, IoKind, Store, StoreError, Swap, Versioned};
use std::path::{Path, PathBuf};

/// A [`Store`] that refuses records older than the ones it wrote.
pub(crate) struct RollbackGuard<S> {
    inner: S,
    seen: sled::Db,
    path: PathBuf,
}

impl<S> std::fmt::Debug for RollbackGuard<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RollbackGuard")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// Where the memory of a service on `db` lives.
pub fn seen_beside(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(".seen");
    PathBuf::from(name)
}

/// What was written under one key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Written {
    version: u64,
    facts: Facts,
}

impl Written {
    const LEN: usize = 25;

    fn encode(&self) -> [u8; Self::LEN] {
        let mut out = [0u8; Self::LEN];
        out[..8].copy_from_slice(&self.version.to_le_bytes());
        out[8..16].copy_from_slice(&self.facts.audit_next.to_le_bytes());
        out[16..24].copy_from_slice(&self.facts.sessions_epoch.to_le_bytes());
        out[24] = u8::from(self.facts.enrolled);
        out
    }

    fn decode(bytes: &[u8]) -> Option<Written> {
        let bytes: &[u8; Self::LEN] = bytes.try_into().ok()?;
        let word = |at: usize| {
            let mut w = [0u8; 8];
            w.copy_from_slice(&bytes[at..at + 8]);
            u64::from_le_bytes(w)
        };
        Some(Written {
            version: word(0),
            facts: Facts {
                audit_next: word(8),
                sessions_epoch: word(16),
                enrolled: bytes[24] != 0,
            },
        })
    }
}

impl<S: Store> RollbackGuard<S> {
    /// Guards `inner` with the memory at `path`, made if absent.
    pub(crate) fn open(inner: S, path: &Path) -> Result<RollbackGuard<S>, StoreError> {
        let seen = sled::Config::new().path(path).open().map_err(|e| {
            StoreError::io(
                IoKind::Other,
                format!(
                    "cannot open this host's memory of its writes {}: {e}",
                    path.display()
                ),
            )
        })?;
        Ok(RollbackGuard {
            inner,
            seen,
            path: path.to_owned(),
        })
    }

    fn recall(&self, key: &str) -> Result<Option<Written>, StoreError> {
        let found = self.seen.get(key.as_bytes()).map_err(|e| {
            StoreError::io(
                IoKind::Corrupt,
                format!(
                    "cannot read this host's memory of its writes {}: {e}",
                    self.path.display()
                ),
            )
        })?;
        Ok(found.and_then(|bytes| Written::decode(&bytes)))
    }

    /// Remembers a write that swapped. Best effort: the write is made, and
    /// a memory that missed it is only less strict.
    fn note(&self, key: &str, version: u64, value: &[u8]) {
        if !key.starts_with(USER_KEY_PREFIX) {
            return;
        }
        if let Some(facts) = unverified_facts(value) {
            let _ = self
                .seen
                .insert(key.as_bytes(), &Written { version, facts }.encode()[..]);
        }
    }

    /// Refuses `found` under `key` if it is older than what was written.
    fn check(&self, key: &str, found: Option<&Versioned>) -> Result<(), StoreError> {
        if !key.starts_with(USER_KEY_PREFIX) {
            return Ok(());
        }
        let Some(written) = self.recall(key)? else {
            return Ok(());
        };
        let refused = |why: String| {
            Err(StoreError::Tampered {
                key: key.to_owned(),
                detail: format!(
                    "{why}; this host wrote version {} itself, so the record was put back by someone with access to the database (`planasonix admin reset` replaces it; after restoring a backup on purpose, see planasonix-store(5), RESTORING A BACKUP)",
                    written.version
                ),
            })
        };
        let Some(found) = found else {
            if written.facts.enrolled {
                return refused("it is gone, though it held an enrolled factor".into());
            }
            return Ok(());
        };
        if found.version < written.version {
            return refused(format!("it is version {}, older", found.version));
        }
        if let Some(facts) = unverified_facts(&found.value) {
            if facts.audit_next < written.facts.audit_next
                && facts.sessions_epoch <= written.facts.sessions_epoch
            {
                return refused(format!(
                    "it holds {} audited changes, fewer than the {} of the version written, with no reset since: an older record under a newer version",
                    facts.audit_next, written.facts.audit_next
                ));
            }
        }
        Ok(())
    }

    /// Writes the memory to disk (the service's commit).
    pub(crate) fn flush(&self) {
        let _ = self.seen.flush();
    }

    #[cfg(test)]
    fn inner(&self) -> &S {
        &self.inner
    }
}

impl<S: Store> Store for RollbackGuard<S> {
    fn get(&self, key: &str) -> Result<Option<Versioned>, StoreError> {
        let found = self.inner.get(key)?;
        self.check(key, found.as_ref())?;
        Ok(found)
    }

    fn get_past_rollback(&self, key: &str) -> Result<Option<Versioned>, StoreError> {
        self.inner.get_past_rollback(key)
    }

    fn compare_and_swap(
        &self,
        key: &str,
        expected: Option<u64>,
        value: Option<&[u8]>,
    ) -> Result<Cas, StoreError> {
        let cas = self.inner.compare_and_swap(key, expected, value)?;
        if let (Cas::Swapped(version), Some(value)) = (cas, value) {
            self.note(key, version, value);
        }
        Ok(cas)
    }

    fn keys(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        self.inner.keys(prefix)
    }

    fn swap_and_add(
        &self,
        key: &str,
        expected: Option<u64>,
        value: &[u8],
        add: &[(String, Vec<u8>)],
    ) -> Result<Swap, StoreError> {
        let swap = self.inner.swap_and_add(key, expected, value, add)?;
        if let Swap::Swapped { version, .. } = &swap {
            self.note(key, *version, value);
        }
        Ok(swap)
    }

    fn authenticated_only(&self) -> bool {
        self.inner.authenticated_only()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use planasonix_core::record::UserRecord;
    use planasonix_core::{MemoryStore, SealKey};

    fn sealed(audit_next: u64, sessions_epoch: u64) -> Vec<u8> {
        let r = UserRecord {
            audit_next,
            sessions_epoch,
            ..UserRecord::default()
        };
        r.seal(&SealKey::from_bytes(&[7; 32]).unwrap(), "user/alice")
    }

    fn guard(dir: &Path) -> RollbackGuard<MemoryStore> {
        RollbackGuard::open(MemoryStore::new(), &dir.join("db.seen")).unwrap()
    }

    fn rollback(r: Result<Option<Versioned>, StoreError>) -> bool {
        matches!(r, Err(StoreError::Tampered { ref detail, .. }) if detail.contains("put back"))
    }

    #[test]
    fn an_older_record_than_the_one_written_is_refused() {
        let dir = planasonix_testkit::TempDir::new("seen");
        let g = guard(dir.path());
        let key = "user/alice";
        assert_eq!(
            g.compare_and_swap(key, None, Some(&sealed(1, 0))).unwrap(),
            Cas::Swapped(1)
        );
        let old = g.get(key).unwrap().unwrap();
        assert_eq!(
            g.compare_and_swap(key, Some(1), Some(&sealed(2, 0)))
                .unwrap(),
            Cas::Swapped(2)
        );
        assert!(g.get(key).is_ok());
        // The old value put back under a newer version, behind the service.
        g.inner()
            .compare_and_swap(key, Some(2), Some(&old.value))
            .unwrap();
        assert!(rollback(g.get(key)), "{:?}", g.get(key));
        // A reset elsewhere (a later sessions count) is no rollback.
        g.inner()
            .compare_and_swap(key, Some(3), Some(&sealed(1, 1)))
            .unwrap();
        assert!(g.get(key).is_ok());
        // Past the refusal for an admin reset, whose write is remembered.
        let there = g.get_past_rollback(key).unwrap().unwrap();
        g.compare_and_swap(key, Some(there.version), Some(&sealed(0, 5)))
            .unwrap();
        assert!(g.get(key).is_ok());
        // Other keys are not looked at.
        g.compare_and_swap("audit/x", None, Some(b"e")).unwrap();
        assert!(g.get("audit/x").is_ok());
    }

    #[test]
    fn after_a_restart_a_deleted_record_or_an_older_row_is_refused() {
        let dir = planasonix_testkit::TempDir::new("seen-restart");
        let key = "user/alice";
        let mut enrolled = sealed(3, 0)[..36].to_vec();
        enrolled.extend_from_slice(br#"{"schema":3,"audit_next":3,"totp":{}}"#);
        let mut later = sealed(4, 0)[..36].to_vec();
        later.extend_from_slice(br#"{"schema":3,"audit_next":4,"totp":{}}"#);
        {
            let g = guard(dir.path());
            g.compare_and_swap(key, None, Some(&enrolled)).unwrap();
            g.compare_and_swap(key, Some(1), Some(&later)).unwrap();
            g.flush();
        }
        // The service restarts over a store that lost the record.
        {
            let g = guard(dir.path());
            assert!(rollback(g.get(key)), "{:?}", g.get(key));
        }
        // Over one where the row was put back whole, at version 1.
        let g = guard(dir.path());
        g.inner()
            .compare_and_swap(key, None, Some(&enrolled))
            .unwrap();
        assert!(rollback(g.get(key)), "{:?}", g.get(key));
    }
}
