//! The engine over a store opened for one short transaction at a time: through
//! the state service (`planasonix serve`) when it runs, else on the sled files.

use crate::delivery::Outbox;
use crate::log::{AuditToLog, Log};
use planasonix_core::{Engine, Error, Policy, SealKey};
use planasonix_native::{transaction, FileTrail};
use std::path::PathBuf;
use std::time::Duration;

/// Runs engine operations, each in its own store transaction.
pub(crate) trait Backend {
    /// The policy in force.
    fn policy(&self) -> &Policy;
    /// Opens the store, runs `op` on an engine that delivers into `outbox`,
    /// and closes the store again before returning.
    fn run<T>(
        &self,
        outbox: &Outbox,
        op: impl FnOnce(&Engine<'_>) -> Result<T, Error>,
    ) -> Result<T, Error>;
}

/// The production backend: the database at `db=`.
pub(crate) struct SledBackend<'a> {
    pub(crate) db: PathBuf,
    pub(crate) policy: Policy,
    pub(crate) key: SealKey,
    pub(crate) log: &'a dyn Log,
    /// How long one operation may wait for the store (`store_wait=`): longer
    /// than the core's default so that a burst of logins queues rather than
    /// fails; a stalled service fails the login closed once it has passed.
    pub(crate) wait: Duration,
}

impl Backend for SledBackend<'_> {
    fn policy(&self) -> &Policy {
        &self.policy
    }

    fn run<T>(
        &self,
        outbox: &Outbox,
        op: impl FnOnce(&Engine<'_>) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let sink = AuditToLog(self.log);
        let trail = FileTrail::beside(&self.db);
        transaction(&self.db, self.wait, |store| {
            let engine = Engine::new(&self.policy, &self.key, store)
                .with_delivery(outbox)
                .with_audit_sink(&sink)
                .with_audit_trail(&trail);
            op(&engine)
        })
    }
}
