//! Handing committed events to the audit trail, and reading them back.

use super::Engine;
use crate::audit::AuditEvent;
use crate::error::Error;
use crate::store::{Cas, StoreError, Swap};
use crate::time::UnixTime;
use crate::trail::{AuditTrail, StoreTrail};
use std::collections::HashMap;

impl Engine<'_> {
    pub(super) fn with_trail<T>(&self, f: impl FnOnce(&dyn AuditTrail) -> T) -> T {
        match self.trail {
            Some(t) => f(t),
            None => f(&StoreTrail::new(
                self.store,
                self.policy.audit.keep_per_user,
            )),
        }
    }

    /// Swaps `sealed` in as `user`'s record at `key` (read at `expected`)
    /// and keeps the change's `events`, numbered from `first`. `false`: the
    /// record changed since it was read; nothing was written.
    ///
    /// With the trail in the store itself, the events travel with the record
    /// in one request ([`Store::swap_and_add`]: one round trip to a state
    /// service, one statement on PostgreSQL); a trail elsewhere receives them
    /// once the record is in. Keeping events is best effort: the change
    /// stands whatever happens to them once it is in, and the audit sink
    /// receives them regardless. A store that writes both in one statement
    /// (PostgreSQL) makes them one transaction: should the events fail
    /// there, so does the change, and the caller fails closed.
    pub(super) fn swap_recording(
        &self,
        user: &str,
        key: &str,
        expected: Option<u64>,
        sealed: &[u8],
        first: u64,
        events: &[AuditEvent],
    ) -> Result<bool, Error> {
        let trail = StoreTrail::new(self.store, self.policy.audit.keep_per_user);
        let entries = match self.trail {
            None if !events.is_empty() => Some(trail.entries(user, first, events)),
            _ => None,
        };
        let Some(Ok(entries)) = entries else {
            if self.store.compare_and_swap(key, expected, Some(sealed))? == Cas::Conflict {
                return Ok(false);
            }
            match entries {
                Some(Err(e)) => self.trail_failed(user, &e),
                _ => self.store_audit(user, first, events),
            }
            return Ok(true);
        };
        let present = match self.store.swap_and_add(key, expected, sealed, &entries)? {
            Swap::Conflict => return Ok(false),
            Swap::Swapped { present, .. } => present,
        };
        if let Err(e) = present.and_then(|present| trail.settle(user, first, &entries, &present)) {
            self.trail_failed(user, &e);
        }
        Ok(true)
    }

    /// Keeps `events`, numbered from `first`, once the change that caused
    /// them is committed. Best effort: the change stands whatever happens
    /// here, and the audit sink receives the events either way.
    pub(super) fn store_audit(&self, user: &str, first: u64, events: &[AuditEvent]) {
        if events.is_empty() {
            return;
        }
        if let Err(e) = self.with_trail(|t| t.append(user, first, events)) {
            self.trail_failed(user, &e);
        }
    }

    fn trail_failed(&self, user: &str, e: &StoreError) {
        if let Some(sink) = self.sink {
            sink.trail_failed(user, &e.to_string());
        }
    }

    /// Audit events, oldest first: of one user, or of everyone; at most the
    /// newest `[audit] keep_per_user` of each user.
    pub fn audit_log(
        &self,
        user: Option<&str>,
        since: Option<UnixTime>,
    ) -> Result<Vec<AuditEvent>, Error> {
        if let Some(u) = user {
            crate::input::validate_user_name(u)?;
        }
        let mut out = self.with_trail(|t| t.events(user))?;
        // Each user's newest `keep`, counted from the end of their sequence.
        let keep = self.policy.audit.keep_per_user as usize;
        let mut seen: HashMap<String, usize> = HashMap::new();
        let mut kept = Vec::with_capacity(out.len());
        while let Some(e) = out.pop() {
            let n = seen.entry(e.user.clone()).or_insert(0);
            *n += 1;
            if *n <= keep && since.is_none_or(|s| e.at >= s) {
                kept.push(e);
            }
        }
        kept.reverse();
        // Stable: one user's events keep their order within a second.
        kept.sort_by(|a, b| a.at.cmp(&b.at).then_with(|| a.user.cmp(&b.user)));
        Ok(kept)
    }
}
