//! Handing committed events to the audit trail, and reading them back.

use super::Engine;
use crate::audit::AuditEvent;
use crate::error::Error;
use crate::time::UnixTime;
use crate::trail::{AuditTrail, StoreTrail};
use std::collections::HashMap;

impl Engine<'_> {
    fn with_trail<T>(&self, f: impl FnOnce(&dyn AuditTrail) -> T) -> T {
        match self.trail {
            Some(t) => f(t),
            None => f(&StoreTrail::new(
                self.store,
                self.policy.audit.keep_per_user,
            )),
        }
    }

    /// Keeps `events`, numbered from `first`, once the change that caused
    /// them is committed. Best effort: the change stands whatever happens
    /// here, and the audit sink receives the events either way.
    pub(super) fn store_audit(&self, user: &str, first: u64, events: &[AuditEvent]) {
        if events.is_empty() {
            return;
        }
        if let Err(e) = self.with_trail(|t| t.append(user, first, events)) {
            if let Some(sink) = self.sink {
                sink.trail_failed(user, &e.to_string());
            }
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
