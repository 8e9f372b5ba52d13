//! An in-memory store for tests and conformance scenarios.

use super::{Cas, Store, StoreError, Versioned};
use std::collections::BTreeMap;
use std::sync::Mutex;

/// A thread-safe in-memory [`Store`].
#[derive(Debug, Default)]
pub struct MemoryStore {
    map: Mutex<BTreeMap<String, Versioned>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, BTreeMap<String, Versioned>>, StoreError> {
        self.map.lock().map_err(|_| {
            StoreError::io(super::IoKind::Other, "in-memory store poisoned by a panic")
        })
    }
}

impl Store for MemoryStore {
    fn get(&self, key: &str) -> Result<Option<Versioned>, StoreError> {
        Ok(self.lock()?.get(key).cloned())
    }

    fn compare_and_swap(
        &self,
        key: &str,
        expected: Option<u64>,
        value: Option<&[u8]>,
    ) -> Result<Cas, StoreError> {
        let mut map = self.lock()?;
        let current = map.get(key).map(|v| v.version);
        if current != expected {
            return Ok(Cas::Conflict);
        }
        let next = current.unwrap_or(0) + 1;
        match value {
            Some(bytes) => {
                map.insert(
                    key.to_owned(),
                    Versioned {
                        version: next,
                        value: bytes.to_vec(),
                    },
                );
            }
            None => {
                map.remove(key);
            }
        }
        Ok(Cas::Swapped(next))
    }

    fn keys(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        Ok(self
            .lock()?
            .range(prefix.to_owned()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, _)| k.clone())
            .collect())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn meets_the_store_contract() {
        crate::testing::check_store(&super::MemoryStore::new());
    }
}
