//! The one path from "run this engine operation" to "it is durable and its
//! messages are sent", for every native door (the PAM module, the CLI).
//!
//! 1. Open the store for one short transaction ([`Transactions`]: the state
//!    service or the sled files, see [`crate::transaction`]).
//! 2. Run the operation on an [`Engine`] whose delivery only queues
//!    ([`Deferred`]); make what it wrote durable, even when it failed (a
//!    failed code's lockout count must stick); close the store.
//! 3. Send what it queued ([`Sender`]), with the store closed: a delivery
//!    command may take seconds, and every other login would wait for it.
//! 4. Record each delivery in a new short transaction: an SMS that went out
//!    as `sms-sent` ([`Engine::sms_delivered`]); a notice that did not as
//!    `notice-failed`; an SMS that did not (when the caller says whose and
//!    what for) by voiding its code and auditing `sms-failed`, its send
//!    given back to the user's limits when it provably did not go out
//!    ([`Engine::sms_not_delivered`]).

use crate::delivery::{DeliveryFailure, Sender};
use crate::file_trail::FileTrail;
use crate::os::{host_name, now};
use crate::transaction::{shared_transaction, transaction};
use planasonix_core::store::{MemoryStore, Store, StoreError};
use planasonix_core::{
    AuditSink, AuditTrail, Context, Deferred, Delivery, Engine, Error, Message, NoDelivery, Policy,
    SealKey, SmsPurpose, UnixTime,
};
use std::path::PathBuf;
use std::time::Duration;

/// Opens a store for one short transaction at a time.
pub trait Transactions {
    /// Runs `work` in one transaction; what it wrote is durable when this
    /// returns, also when `work` failed.
    fn transaction<T, E: From<StoreError>>(
        &self,
        work: impl FnOnce(&dyn Store) -> Result<T, E>,
    ) -> Result<T, E>;

    /// Makes the next transactions read the store itself, not what this
    /// login remembers of it ([`crate::Remembering`]): for a login that
    /// waits on something another party writes (an approval). Nothing to
    /// do for transactions that remember nothing.
    fn read_afresh(&self) {}
}

/// A deployment's state as a native process reaches it: the database at
/// `db` (through the state service on `<db>.sock` when it runs), waiting up
/// to `wait` for it; or, when `shared`, the fleet's store through the state
/// service on `<db>.sock` only.
#[derive(Clone, Debug)]
pub struct StateDb {
    /// The database directory (on a shared host, where the socket lives).
    pub db: PathBuf,
    /// The longest wait for another process to release it.
    pub wait: Duration,
    /// The store file names a shared store ([`crate::store_file`]).
    pub shared: bool,
}

impl Transactions for StateDb {
    fn transaction<T, E: From<StoreError>>(
        &self,
        work: impl FnOnce(&dyn Store) -> Result<T, E>,
    ) -> Result<T, E> {
        if self.shared {
            shared_transaction(&self.db, self.wait, work)
        } else {
            transaction(&self.db, self.wait, work)
        }
    }
}

/// An in-memory store is its own transaction (tests, scenarios).
impl Transactions for MemoryStore {
    fn transaction<T, E: From<StoreError>>(
        &self,
        work: impl FnOnce(&dyn Store) -> Result<T, E>,
    ) -> Result<T, E> {
        work(self)
    }
}

/// Whose SMS a call may queue, and what for, so that one that cannot be sent
/// voids the right code.
#[derive(Clone, Copy, Debug)]
pub struct SmsFor<'a> {
    /// Whose code it carries.
    pub user: &'a str,
    /// Enrollment or login.
    pub purpose: SmsPurpose,
    /// The login it belongs to, for the audit event.
    pub ctx: Option<&'a Context>,
}

/// A message that could not be delivered, and what was recorded about it.
#[derive(Debug)]
#[non_exhaustive]
pub enum Undelivered {
    /// An SMS. `recorded` is, when the call said whose it was, the error to
    /// show the user (the code voided, the failure audited), or why recording
    /// that failed too (the unsent code then stays pending until it expires).
    Sms {
        /// Why it was not sent.
        failure: DeliveryFailure,
        /// What recording the failure gave.
        recorded: Option<Result<Error, Error>>,
    },
    /// A notice; `recorded` says whether `notice-failed` was audited.
    Notice {
        /// Whose.
        user: String,
        /// Why it was not sent.
        failure: DeliveryFailure,
        /// Whether the failure was recorded.
        recorded: Result<(), Error>,
    },
}

impl Undelivered {
    /// Why it was not sent.
    pub fn failure(&self) -> &DeliveryFailure {
        match self {
            Undelivered::Sms { failure, .. } | Undelivered::Notice { failure, .. } => failure,
        }
    }

    /// `SMS` or `notice`, for log lines.
    pub fn kind(&self) -> &'static str {
        match self {
            Undelivered::Sms { .. } => "SMS",
            Undelivered::Notice { .. } => "notice",
        }
    }
}

/// Where a native door's audit events go besides syslog, and how they are
/// stamped: decided here once, for the PAM module and the CLI alike.
#[derive(Debug)]
pub enum TrailPlace {
    /// A single host keeps its trail in `<db>.audit.jsonl`, beside its
    /// database ([`FileTrail`]); events carry no host name.
    Beside(FileTrail),
    /// A shared store keeps the fleet's trail itself, each event stamped
    /// with the name of the host that wrote it.
    Fleet {
        /// This host's name.
        host: String,
    },
    /// The store keeps the trail and events carry no host name: in-memory
    /// stores (tests, scenarios).
    InStore,
}

impl TrailPlace {
    /// The place for the deployment `state` reaches.
    pub fn of(state: &StateDb) -> TrailPlace {
        if state.shared {
            TrailPlace::Fleet { host: host_name() }
        } else {
            TrailPlace::Beside(FileTrail::beside(&state.db))
        }
    }

    /// The trail beside the store, if events are not kept in the store.
    fn trail(&self) -> Option<&dyn AuditTrail> {
        match self {
            TrailPlace::Beside(file) => Some(file),
            TrailPlace::Fleet { .. } | TrailPlace::InStore => None,
        }
    }

    /// The host name stamped on events, if any.
    fn origin(&self) -> Option<&str> {
        match self {
            TrailPlace::Fleet { host } => Some(host),
            TrailPlace::Beside(_) | TrailPlace::InStore => None,
        }
    }
}

/// Everything an engine operation runs with besides the store: policy, seal
/// key, where audit events go, how messages are sent, and the clock. Built
/// with [`EngineCall::new`], so every door wires them the same way.
pub struct EngineCall<'a, S: Transactions> {
    /// The store, one transaction per call.
    state: &'a S,
    /// The policy in force.
    policy: &'a Policy,
    /// The seal key.
    key: &'a SealKey,
    /// Audit events, as they happen (syslog).
    audit: &'a dyn AuditSink,
    /// Where the trail is kept and how events are stamped.
    place: &'a TrailPlace,
    /// Sends what the engine queued.
    sender: &'a dyn Sender,
    /// The clock, for recording failed deliveries.
    clock: &'a dyn Fn() -> UnixTime,
}

impl<'a, S: Transactions> EngineCall<'a, S> {
    /// A call over `state` with the trail at `place`, syslog's `audit`, and
    /// messages sent by `sender`; SMS challenges are offered exactly when
    /// `sender` can send SMS ([`Sender::sends_sms`]); the clock is the
    /// system's.
    pub fn new(
        state: &'a S,
        place: &'a TrailPlace,
        policy: &'a Policy,
        key: &'a SealKey,
        audit: &'a dyn AuditSink,
        sender: &'a dyn Sender,
    ) -> Self {
        EngineCall {
            state,
            policy,
            key,
            audit,
            place,
            sender,
            clock: &now,
        }
    }

    /// The same call on another clock (tests).
    pub fn with_clock(self, clock: &'a dyn Fn() -> UnixTime) -> Self {
        EngineCall { clock, ..self }
    }

    /// Makes the next calls read the store itself (see
    /// [`Transactions::read_afresh`]).
    pub fn read_afresh(&self) {
        self.state.read_afresh();
    }

    /// The policy in force.
    pub fn policy(&self) -> &'a Policy {
        self.policy
    }

    /// The time now, on the call's clock.
    pub fn now(&self) -> UnixTime {
        (self.clock)()
    }
}

impl<S: Transactions> std::fmt::Debug for EngineCall<'_, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineCall")
            .field("place", &self.place)
            .field("sms", &self.sender.sends_sms())
            .finish_non_exhaustive()
    }
}

impl<S: Transactions> EngineCall<'_, S> {
    /// Runs `op` in one short transaction, then delivers what it queued and
    /// records what could not be delivered (see the module documentation).
    /// `sms` says whose SMS `op` may queue; without it a failed SMS is
    /// reported but not recorded.
    pub fn run<T, E: From<StoreError>>(
        &self,
        sms: Option<SmsFor<'_>>,
        op: impl FnOnce(&Engine<'_>) -> Result<T, E>,
    ) -> (Result<T, E>, Vec<Undelivered>) {
        // Without a way to send SMS, the engine refuses SMS challenges at
        // once and says so.
        let queue = if self.sender.sends_sms() {
            Deferred::new()
        } else {
            Deferred::without_sms()
        };
        let result = self
            .state
            .transaction(|store| op(&self.engine(store, &queue)));
        // Whatever `op` returned, what it committed and queued is sent.
        let undelivered = queue
            .take()
            .into_iter()
            .filter_map(|message| match self.sender.send(&message) {
                Ok(()) => {
                    self.record_sent(&message, sms);
                    None
                }
                Err(failure) => Some(self.record(message, failure, sms)),
            })
            .collect();
        (result, undelivered)
    }

    fn engine<'e>(&'e self, store: &'e dyn Store, delivery: &'e dyn Delivery) -> Engine<'e> {
        let mut engine = Engine::new(self.policy, self.key, store)
            .with_audit_sink(self.audit)
            .with_delivery(delivery);
        if let Some(host) = self.place.origin() {
            engine = engine.with_origin(host);
        }
        match self.place.trail() {
            Some(trail) => engine.with_audit_trail(trail),
            None => engine,
        }
    }

    /// Audits an SMS that went out (`sms-sent`), in its own short
    /// transaction. A failure to record it loses only the event: syslog
    /// has the send.
    fn record_sent(&self, message: &Message, sms: Option<SmsFor<'_>>) {
        if let (Message::Sms { .. }, Some(s)) = (message, sms) {
            let now = self.now();
            let _ = self.afterwards(|e| e.sms_delivered(s.user, s.ctx, now));
        }
    }

    /// Records one failed delivery, in its own short transaction.
    fn record(
        &self,
        message: Message,
        failure: DeliveryFailure,
        sms: Option<SmsFor<'_>>,
    ) -> Undelivered {
        let reason = failure.to_string();
        let unsent = failure.proves_unsent();
        let now = self.now();
        match message {
            Message::Sms { .. } => Undelivered::Sms {
                recorded: sms.map(|s| {
                    self.afterwards(|e| {
                        e.sms_not_delivered(s.user, s.purpose, s.ctx, &reason, unsent, now)
                    })
                }),
                failure,
            },
            Message::Notice(notice) => Undelivered::Notice {
                recorded: self.afterwards(|e| e.notice_not_delivered(&notice.user, &reason, now)),
                user: notice.user,
                failure,
            },
        }
    }

    /// One more short transaction, on an engine that sends nothing.
    fn afterwards<T>(
        &self,
        work: impl FnOnce(&Engine<'_>) -> Result<T, Error>,
    ) -> Result<T, Error> {
        self.state
            .transaction(|store| work(&self.engine(store, &NoDelivery)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_single_host_keeps_its_trail_beside_its_database_and_a_fleet_host_stamps_its_name() {
        let single = StateDb {
            db: PathBuf::from("/var/lib/planasonix/db"),
            wait: Duration::from_secs(1),
            shared: false,
        };
        let place = TrailPlace::of(&single);
        assert!(place.trail().is_some(), "a single host keeps a trail file");
        match &place {
            TrailPlace::Beside(file) => assert_eq!(
                file.path(),
                std::path::Path::new("/var/lib/planasonix/db.audit.jsonl")
            ),
            other => panic!("expected the file beside the database, got {other:?}"),
        }
        assert_eq!(place.origin(), None);

        let fleet = TrailPlace::of(&StateDb {
            shared: true,
            ..single
        });
        assert!(fleet.trail().is_none(), "the fleet's store keeps the trail");
        assert_eq!(fleet.origin(), Some(host_name().as_str()));
    }
}
