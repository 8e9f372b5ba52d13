//! The login flow, written against [`Pam`] and [`Backend`] so it runs (and is
//! tested) without libpam or sled.
//!
//! The store is opened only inside [`Env::call`], one engine operation at a
//! time, and never while a prompt waits for a person.

mod account;
mod auth;
mod degraded;
mod enroll;
#[cfg(test)]
mod fake;
#[cfg(test)]
mod tests;

pub(crate) use account::account;
pub(crate) use auth::authenticate;
pub use auth::capitalise;
pub(crate) use degraded::without_key;
pub use enroll::wants_enrollment;

use crate::backend::Backend;
use crate::code::PamCode;
use crate::delivery::{Outbox, Outgoing, Sender};
use crate::log::{Log, Severity};
use crate::pam::{Pam, PamError};
use planasonix_core::text::Field;
use planasonix_core::{Context, Engine, Error, Mode, Policy, Subject, UnixTime};
use planasonix_native::accounts::{Account, AccountError};

/// What the user sees when the module cannot work; details go to syslog only.
pub(crate) const UNAVAILABLE: &str =
    "Two-factor authentication is unavailable right now; contact your administrator.";

/// The system's account databases (NSS), as the flow needs them.
pub(crate) trait Accounts {
    /// The account `typed` names (a login name, an alias, a qualified name).
    fn resolve(&self, typed: &str) -> Result<Account, AccountError>;
    /// Names of every group `account` belongs to, primary included.
    fn groups_of(&self, account: &Account) -> Result<Vec<String>, AccountError>;
}

/// Everything the flow uses besides the PAM handle.
pub(crate) struct Env<'a, B: Backend> {
    /// Engine operations in short store transactions.
    pub(crate) backend: &'a B,
    /// Sends SMS and notices once a transaction is over.
    pub(crate) sender: &'a dyn Sender,
    /// Where log lines go.
    pub(crate) log: &'a dyn Log,
    /// System accounts and groups.
    pub(crate) accounts: &'a dyn Accounts,
    /// The clock.
    pub(crate) clock: &'a dyn Fn() -> UnixTime,
    /// Whether `sms_command=` is set.
    pub(crate) sms_configured: bool,
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
    fn log(&self, severity: Severity, line: &str) {
        self.log.log(severity, line);
    }
}

/// A delivery that failed after its transaction.
pub(crate) struct Undelivered {
    /// Whether it was an SMS (the user waits for it).
    pub(crate) sms: bool,
}

impl<B: Backend> Env<'_, B> {
    pub(crate) fn now(&self) -> UnixTime {
        (self.clock)()
    }

    /// The part of the environment that needs no store.
    pub(crate) fn site(&self) -> Site<'_> {
        Site {
            policy: self.backend.policy(),
            accounts: self.accounts,
            log: self.log,
            action: self.action.clone(),
        }
    }

    fn log(&self, severity: Severity, line: &str) {
        self.log.log(severity, line);
    }

    /// Runs one engine operation in its own store transaction, then sends what
    /// it queued. Failed deliveries are logged and returned.
    pub(crate) fn call<T>(
        &self,
        op: impl FnOnce(&Engine<'_>) -> Result<T, Error>,
    ) -> (Result<T, Error>, Vec<Undelivered>) {
        let outbox = Outbox::new(self.sms_configured);
        let result = self.backend.run(&outbox, op);
        let mut failed = Vec::new();
        for msg in outbox.take() {
            if let Err(reason) = self.sender.send(&msg) {
                self.log(
                    Severity::Warning,
                    &format!("{} delivery failed: {reason}", msg.kind()),
                );
                failed.push(Undelivered {
                    sms: matches!(msg, Outgoing::Sms { .. }),
                });
            }
        }
        (result, failed)
    }
}

/// Who is logging in, where, and why.
pub(crate) struct Who {
    /// The name as typed, when NSS resolved it to another (canonical) one.
    pub(crate) typed: Option<String>,
    /// The canonical account (`subject.user` is NSS's `pw_name`).
    pub(crate) subject: Subject,
    pub(crate) ctx: Context,
}

impl Who {
    pub(crate) fn user(&self) -> &str {
        &self.subject.user
    }

    /// Reads user, service and remote host from PAM, resolves the user
    /// through NSS to its canonical name, and reads groups from the system.
    ///
    /// Everything after this (record, policy, audit, log lines) uses the
    /// canonical name: an alias (`ALICE`, `alice@example.com`) is the same
    /// account, never a second, empty record. A name NSS does not know gets
    /// PAM_USER_UNKNOWN and nothing is written.
    pub(crate) fn read(pam: &dyn Pam, site: &Site<'_>) -> Result<Who, PamCode> {
        let env = site;
        let typed = pam.user().map_err(|PamError(code)| {
            env.log(
                Severity::Error,
                &format!("cannot get the user name: {code}"),
            );
            code
        })?;
        let service = pam.service().map_err(|PamError(code)| {
            env.log(
                Severity::Error,
                &format!("cannot get the service name: {code}"),
            );
            code
        })?;
        let remote = pam.rhost().map_err(|PamError(code)| {
            env.log(
                Severity::Error,
                &format!("cannot get the remote host: {code}"),
            );
            code
        })?;
        let account = match env.accounts.resolve(&typed) {
            Ok(account) => account,
            Err(e @ (AccountError::Unknown(_) | AccountError::BadName(_))) => {
                env.log(
                    Severity::Notice,
                    &format!(
                        "user={} service={}: {e}; {}",
                        Field(&typed),
                        Field(&service),
                        PamCode::UserUnknown
                    ),
                );
                return Err(PamCode::UserUnknown);
            }
            Err(e) => {
                env.log(
                    Severity::Error,
                    &format!(
                        "user={} service={}: cannot resolve the user: {e}; failing closed",
                        Field(&typed),
                        Field(&service)
                    ),
                );
                return Err(PamCode::AuthInfoUnavail);
            }
        };
        // Groups matter only to decide who is an admin; an NSS failure then
        // fails closed rather than treat an admin as a plain user.
        let groups = if env.policy.enforcement.mode == Mode::RequiredForAdmins {
            env.accounts.groups_of(&account).map_err(|e| {
                env.log(
                    Severity::Error,
                    &format!("user={}: cannot read groups: {e}", Field(&account.name)),
                );
                PamCode::AuthInfoUnavail
            })?
        } else {
            Vec::new()
        };
        let typed = (typed != account.name).then_some(typed);
        Ok(Who {
            typed,
            subject: Subject {
                user: account.name,
                groups,
                amr: Vec::new(),
            },
            ctx: Context {
                service,
                remote,
                action: env.action.clone(),
            },
        })
    }

    /// `user=… service=… remote=…` for log lines.
    pub(crate) fn describe(&self) -> String {
        let mut s = format!("user={}", Field(&self.subject.user));
        if let Some(t) = &self.typed {
            s.push_str(&format!(" typed={}", Field(t)));
        }
        s.push_str(&format!(" service={}", Field(&self.ctx.service)));
        if let Some(r) = &self.ctx.remote {
            s.push_str(&format!(" remote={}", Field(r)));
        }
        if let Some(a) = &self.ctx.action {
            s.push_str(&format!(" action={}", Field(a)));
        }
        s
    }
}

/// The code for an engine error that ends the attempt, logged, with a message
/// for the user where one helps. Unusable policy, key or store fail closed.
pub(crate) fn fail<B: Backend>(pam: &dyn Pam, env: &Env<'_, B>, who: &Who, err: &Error) -> PamCode {
    let code = match err {
        Error::Locked { until } => {
            let _ = pam.error(&format!(
                "Too many wrong codes: second-factor sign-in is locked until {until}."
            ));
            PamCode::MaxTries
        }
        Error::UserName(_) => PamCode::UserUnknown,
        Error::NotEnrolled => PamCode::AuthErr,
        _ => {
            let _ = pam.error(UNAVAILABLE);
            PamCode::AuthInfoUnavail
        }
    };
    let severity = if code == PamCode::AuthInfoUnavail {
        Severity::Error
    } else {
        Severity::Notice
    };
    env.log(severity, &format!("{}: {err} -> {code}", who.describe()));
    code
}
