//! The stored audit trail: one store entry per event, beside the user record.
//!
//! Keeping events out of the record keeps every login's read → change → CAS
//! small however long the trail is. The record reserves sequence numbers
//! (`audit_next`) in the same compare-and-swap as the state change, so
//! concurrent writers never collide; the events are written right after that
//! commit. A crash between the two loses that change's events, never the
//! state change itself; a failed event write (store full, say) still reaches
//! the audit sink, syslog for the PAM module. Events older than the newest `keep_per_user` are not
//! returned, and are deleted every [`PRUNE_EVERY`] events.

use super::Engine;
use crate::audit::AuditEvent;
use crate::error::Error;
use crate::store::{Cas, StoreError};
use crate::time::UnixTime;

/// Old events are deleted when a sequence number crosses a multiple of this.
const PRUNE_EVERY: u64 = 32;

/// Key prefix of one user's events.
fn prefix(user: &str) -> String {
    format!("audit/{user}/")
}

/// Key of one event: fixed-width hex so that keys sort in sequence order.
fn event_key(user: &str, seq: u64) -> String {
    format!("audit/{user}/{seq:016x}")
}

/// Sequence number of an event key under `prefix`, if it is one.
fn seq_of(key: &str, prefix: &str) -> Option<u64> {
    let hex = key.strip_prefix(prefix)?;
    (hex.len() == 16)
        .then(|| u64::from_str_radix(hex, 16).ok())
        .flatten()
}

impl Engine<'_> {
    /// Stores `events`, numbered from `first`, once the change that caused
    /// them is committed; prunes old ones now and then. Best effort: the
    /// change stands whatever happens here.
    pub(super) fn store_audit(&self, user: &str, first: u64, events: &[AuditEvent]) {
        let mut prune = false;
        for (seq, event) in (first..).zip(events) {
            let Ok(json) = serde_json::to_vec(event) else {
                continue;
            };
            let key = event_key(user, seq);
            if let Ok(Cas::Conflict) = self.store.compare_and_swap(&key, None, Some(&json)) {
                // The sequence number is ours alone; an existing entry can only
                // be a leftover of a lost write, and the newer event replaces it.
                let expected = self.store.get(&key).ok().flatten().map(|v| v.version);
                let _ = self.store.compare_and_swap(&key, expected, Some(&json));
            }
            prune |= seq % PRUNE_EVERY == 0;
        }
        if prune {
            let keep = u64::from(self.policy.audit.keep_per_user);
            let _ = self.prune_audit(user, (first + events.len() as u64).saturating_sub(keep));
        }
    }

    /// Deletes `user`'s events numbered below `floor`.
    fn prune_audit(&self, user: &str, floor: u64) -> Result<(), StoreError> {
        let prefix = prefix(user);
        for key in self.store.keys(&prefix)? {
            if seq_of(&key, &prefix).is_some_and(|seq| seq < floor) {
                if let Some(v) = self.store.get(&key)? {
                    if let Cas::Conflict =
                        self.store.compare_and_swap(&key, Some(v.version), None)?
                    {
                        // Rewritten meanwhile: leave it for the next prune.
                    }
                }
            }
        }
        Ok(())
    }

    /// The newest `keep_per_user` stored events of `user`, oldest first.
    pub(super) fn user_audit(&self, user: &str) -> Result<Vec<AuditEvent>, Error> {
        let next = self.load(user)?.audit_next;
        let floor = next.saturating_sub(u64::from(self.policy.audit.keep_per_user));
        let prefix = prefix(user);
        let mut keys: Vec<(u64, String)> = self
            .store
            .keys(&prefix)?
            .into_iter()
            .filter_map(|k| seq_of(&k, &prefix).map(|s| (s, k)))
            .filter(|(seq, _)| (floor..next).contains(seq))
            .collect();
        keys.sort();
        let mut out = Vec::with_capacity(keys.len());
        for (_, key) in keys {
            if let Some(v) = self.store.get(&key)? {
                let event = serde_json::from_slice(&v.value).map_err(|e| StoreError::Corrupt {
                    key: key.clone(),
                    detail: e.to_string(),
                })?;
                out.push(event);
            }
        }
        Ok(out)
    }

    /// Audit events, oldest first: of one user, or of everyone.
    pub fn audit_log(
        &self,
        user: Option<&str>,
        since: Option<UnixTime>,
    ) -> Result<Vec<AuditEvent>, Error> {
        let users = match user {
            Some(u) => vec![u.to_owned()],
            None => self.users()?,
        };
        let mut out = Vec::new();
        for u in users {
            out.extend(self.user_audit(&u)?);
        }
        if let Some(since) = since {
            out.retain(|e| e.at >= since);
        }
        // Stable: one user's events keep their sequence order within a second.
        out.sort_by(|a, b| a.at.cmp(&b.at).then_with(|| a.user.cmp(&b.user)));
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
