//! What the flow runs with besides the PAM handle: engine calls on the store,
//! the log, the account databases.

use planasonix_core::text::Field;
use planasonix_core::{Engine, Error, Policy, UnixTime};
use planasonix_native::accounts::{Account, AccountError};
use planasonix_native::syslog::{Log, Severity};
use planasonix_native::{EngineCall, SmsFor, Transactions, Undelivered};

/// The system's account databases (NSS), as the flow needs them.
pub(crate) trait Accounts {
    /// The account `typed` names (a login name, an alias, a qualified name).
    fn resolve(&self, typed: &str) -> Result<Account, AccountError>;
    /// Names of every group `account` belongs to, primary included.
    fn groups_of(&self, account: &Account) -> Result<Vec<String>, AccountError>;
}

/// Everything the flow uses besides the PAM handle. `S` is the store: the
/// deployment's database in production, a memory store in unit tests.
pub(crate) struct Env<'a, S: Transactions> {
    /// Engine operations, each in its own short store transaction, their
    /// messages sent once it is over (policy, seal key, delivery, clock).
    pub(crate) engine: EngineCall<'a, S>,
    /// Where log lines go.
    pub(crate) log: &'a dyn Log,
    /// System accounts and groups.
    pub(crate) accounts: &'a dyn Accounts,
    /// `action=`, for step-up stacks.
    pub(crate) action: Option<String>,
}

/// What a stage needs before any store or key: the policy, the account
/// databases, the log and the step-up action.
pub(crate) struct Site<'a> {
    pub(crate) policy: &'a Policy,
    pub(crate) accounts: &'a dyn Accounts,
    pub(crate) log: &'a dyn Log,
    pub(crate) action: Option<String>,
}

impl Site<'_> {
    pub(crate) fn log(&self, severity: Severity, line: &str) {
        self.log.log(severity, line);
    }
}

impl<S: Transactions> Env<'_, S> {
    pub(crate) fn now(&self) -> UnixTime {
        self.engine.now()
    }

    /// The part of the environment that needs no store.
    pub(crate) fn site(&self) -> Site<'_> {
        Site {
            policy: self.engine.policy(),
            accounts: self.accounts,
            log: self.log,
            action: self.action.clone(),
        }
    }

    pub(crate) fn log(&self, severity: Severity, line: &str) {
        self.log.log(severity, line);
    }

    /// Runs one engine operation in its own store transaction, then sends what
    /// it queued ([`EngineCall::run`]). `sms` says whose SMS `op` may queue,
    /// so that one that cannot be sent has its code voided. Failed deliveries
    /// are logged and returned.
    pub(crate) fn call<T>(
        &self,
        sms: Option<SmsFor<'_>>,
        op: impl FnOnce(&Engine<'_>) -> Result<T, Error>,
    ) -> (Result<T, Error>, Vec<Undelivered>) {
        let sms_user = sms.map(|s| s.user);
        let (result, undelivered) = self.engine.run(sms, op);
        for failed in &undelivered {
            self.log(
                Severity::Warning,
                &format!("{} delivery failed: {}", failed.kind(), failed.failure()),
            );
            let unrecorded = match failed {
                Undelivered::Sms {
                    recorded: Some(Err(e)),
                    ..
                } => Some(format!(
                    "user={}: the unsent SMS code could not be voided ({e}); it stays pending until it expires",
                    Field(sms_user.unwrap_or("?"))
                )),
                Undelivered::Notice {
                    user,
                    recorded: Err(e),
                    ..
                } => Some(format!(
                    "the failed notice to user={} is not in the audit trail: {e}",
                    Field(user)
                )),
                _ => None,
            };
            if let Some(line) = unrecorded {
                self.log(Severity::Error, &line);
            }
        }
        (result, undelivered)
    }
}
