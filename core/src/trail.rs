//! Where audit events are kept: the [`AuditTrail`] trait and its default,
//! [`StoreTrail`], one store entry per event beside the user record.
//!
//! The engine hands events to the trail right after the change that caused
//! them is committed. A crash in between loses those events, never the
//! change. Native hosts whose database is opened per login use a file
//! instead (`native::FileTrail`), so that history never slows the login
//! database down.

use crate::audit::AuditEvent;
use crate::store::{Cas, Store, StoreError};

/// Storage for audit events.
pub trait AuditTrail: Send + Sync {
    /// Keeps `events` of `user`, numbered from `first` in that user's
    /// sequence (reserved in the user record, so never reused).
    fn append(&self, user: &str, first: u64, events: &[AuditEvent]) -> Result<(), StoreError>;

    /// Stored events of `user`, or of everyone, each user's oldest first.
    /// Trails may keep more than the policy's `keep_per_user`; the engine
    /// trims.
    fn events(&self, user: Option<&str>) -> Result<Vec<AuditEvent>, StoreError>;

    /// Keeps one event that no record numbers: the refusal of a record that
    /// could not be read, so that it reaches the fleet's trail too. Never
    /// prunes anything.
    fn append_unnumbered(&self, user: &str, event: &AuditEvent) -> Result<(), StoreError> {
        self.append(user, 0, std::slice::from_ref(event))
    }

    /// The first sequence number no stored event of `user` has (for a
    /// record made anew, which cannot know its old one).
    fn next_sequence(&self, _user: &str) -> Result<u64, StoreError> {
        Ok(0)
    }
}

/// Sequence numbers from here on are of events no record numbers
/// ([`AuditTrail::append_unnumbered`]): this plus the event's time.
const UNNUMBERED: u64 = 1 << 63;

/// Where a [`StoreTrail`] keeps events: every key under this prefix is an
/// audit event (`audit/<user>/<sequence>`), never a record. A store may
/// write these with less care than records (PostgreSQL commits them without
/// waiting for the disk): the trail's contract already allows a crash to
/// lose the newest events, never a change.
pub const EVENT_KEY_PREFIX: &str = "audit/";

/// Old events are deleted when a sequence number crosses a multiple of this.
const PRUNE_EVERY: u64 = 32;

/// Events in the record store: `audit/<user>/<sequence as 16 hex digits>`.
#[derive(Clone, Copy)]
pub struct StoreTrail<'a> {
    store: &'a dyn Store,
    keep: u64,
}

impl core::fmt::Debug for StoreTrail<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("StoreTrail")
            .field("keep", &self.keep)
            .finish()
    }
}

fn prefix(user: &str) -> String {
    format!("{EVENT_KEY_PREFIX}{user}/")
}

fn event_key(user: &str, seq: u64) -> String {
    format!("{EVENT_KEY_PREFIX}{user}/{seq:016x}")
}

/// Sequence number of an event key under `prefix`, if it is one.
fn seq_of(key: &str, prefix: &str) -> Option<u64> {
    let hex = key.strip_prefix(prefix)?;
    (hex.len() == 16)
        .then(|| u64::from_str_radix(hex, 16).ok())
        .flatten()
}

impl<'a> StoreTrail<'a> {
    /// A trail in `store` that keeps about the newest `keep` events per user.
    pub fn new(store: &'a dyn Store, keep: u32) -> StoreTrail<'a> {
        StoreTrail {
            store,
            keep: u64::from(keep),
        }
    }

    /// The store entries for `events` of `user` numbered from `first`: each
    /// key (`audit/<user>/<sequence>`) and the event as JSON. Adding them is
    /// the caller's ([`Store::swap_and_add`], or [`AuditTrail::append`]);
    /// [`StoreTrail::settle`] then finishes.
    pub fn entries(
        &self,
        user: &str,
        first: u64,
        events: &[AuditEvent],
    ) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        (first..)
            .zip(events)
            .map(|(seq, event)| {
                let json = serde_json::to_vec(event)
                    .map_err(|e| StoreError::io(crate::store::IoKind::Other, e.to_string()))?;
                Ok((event_key(user, seq), json))
            })
            .collect()
    }

    /// Finishes adding `entries` (numbered from `first`), of which the keys
    /// in `present` were found taken: those are overwritten, and events the
    /// trail no longer keeps are deleted when the sequence crosses a
    /// multiple of [`PRUNE_EVERY`].
    pub fn settle(
        &self,
        user: &str,
        first: u64,
        entries: &[(String, Vec<u8>)],
        present: &[String],
    ) -> Result<(), StoreError> {
        for (key, json) in entries.iter().filter(|(k, _)| present.contains(k)) {
            // The sequence number is ours alone; an existing entry can only
            // be a leftover of a lost write, and the newer event replaces it.
            let expected = self.store.get(key)?.map(|v| v.version);
            self.store.compare_and_swap(key, expected, Some(json))?;
        }
        let next = first + entries.len() as u64;
        if (first..next).any(|seq| seq % PRUNE_EVERY == 0) {
            self.prune(user, next.saturating_sub(self.keep))?;
        }
        Ok(())
    }

    /// Deletes `user`'s events numbered below `floor`.
    fn prune(&self, user: &str, floor: u64) -> Result<(), StoreError> {
        let prefix = prefix(user);
        for key in self.store.keys(&prefix)? {
            if seq_of(&key, &prefix).is_some_and(|seq| seq < floor) {
                if let Some(v) = self.store.get(&key)? {
                    // A conflict means it was rewritten meanwhile: the next prune gets it.
                    let _ = self.store.compare_and_swap(&key, Some(v.version), None)?;
                }
            }
        }
        Ok(())
    }

    fn user_events(&self, user: &str, out: &mut Vec<AuditEvent>) -> Result<(), StoreError> {
        let prefix = prefix(user);
        let mut keys: Vec<(u64, String)> = self
            .store
            .keys(&prefix)?
            .into_iter()
            .filter_map(|k| seq_of(&k, &prefix).map(|s| (s, k)))
            .collect();
        keys.sort();
        for (_, key) in keys {
            if let Some(v) = self.store.get(&key)? {
                let event = serde_json::from_slice(&v.value).map_err(|e| StoreError::Corrupt {
                    key: key.clone(),
                    detail: e.to_string(),
                })?;
                out.push(event);
            }
        }
        Ok(())
    }
}

impl AuditTrail for StoreTrail<'_> {
    fn append_unnumbered(&self, user: &str, event: &AuditEvent) -> Result<(), StoreError> {
        let json = serde_json::to_vec(event)
            .map_err(|e| StoreError::io(crate::store::IoKind::Other, e.to_string()))?;
        // One a second per user: a second refusal in that second is the same news.
        let key = event_key(user, UNNUMBERED | event.at.0);
        self.store.compare_and_swap(&key, None, Some(&json))?;
        Ok(())
    }

    fn next_sequence(&self, user: &str) -> Result<u64, StoreError> {
        let prefix = prefix(user);
        Ok(self
            .store
            .keys(&prefix)?
            .iter()
            .filter_map(|k| seq_of(k, &prefix))
            .filter(|seq| *seq < UNNUMBERED)
            .max()
            .map_or(0, |seq| seq + 1))
    }

    fn append(&self, user: &str, first: u64, events: &[AuditEvent]) -> Result<(), StoreError> {
        let entries = self.entries(user, first, events)?;
        let mut present = Vec::new();
        for (key, json) in &entries {
            if let Cas::Conflict = self.store.compare_and_swap(key, None, Some(json))? {
                present.push(key.clone());
            }
        }
        self.settle(user, first, &entries, &present)
    }

    fn events(&self, user: Option<&str>) -> Result<Vec<AuditEvent>, StoreError> {
        let mut out = Vec::new();
        match user {
            Some(u) => self.user_events(u, &mut out)?,
            None => {
                let mut users: Vec<String> = self
                    .store
                    .keys(EVENT_KEY_PREFIX)?
                    .into_iter()
                    .filter_map(|k| {
                        k.strip_prefix(EVENT_KEY_PREFIX)?
                            .split('/')
                            .next()
                            .map(str::to_owned)
                    })
                    .collect();
                users.dedup();
                for u in users {
                    self.user_events(&u, &mut out)?;
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_sort_in_sequence_order_and_parse_back() {
        let p = prefix("alice");
        let keys: Vec<String> = [0u64, 9, 10, 255, 256, u64::MAX]
            .iter()
            .map(|s| event_key("alice", *s))
            .collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
        assert_eq!(seq_of(&keys[3], &p), Some(255));
        assert_eq!(seq_of("audit/alice/zz", &p), None);
        assert_eq!(seq_of("audit/alice2/0000000000000001", &p), None);
    }
}
