//! The login flow, written against [`Pam`] and [`Backend`] so it runs (and is
//! tested) without libpam or sled.
//!
//! The store is opened only inside [`Env::call`], one engine operation at a
//! time, and never while a prompt waits for a person.

mod account;
mod auth;
mod enroll;
#[cfg(test)]
mod fake;
#[cfg(test)]
mod tests;

pub(crate) use account::account;
pub(crate) use auth::authenticate;
pub use auth::capitalise;
pub use enroll::wants_enrollment;

use crate::backend::Backend;
use crate::code::PamCode;
use crate::delivery::{Outbox, Outgoing, Sender};
use crate::log::{Log, Severity};
use crate::pam::{Pam, PamError};
use planasonix_core::{Context, Engine, Error, Mode, Subject, UnixTime};

/// What the user sees when the module cannot work; details go to syslog only.
pub(crate) const UNAVAILABLE: &str =
    "Two-factor authentication is unavailable right now; contact your administrator.";

/// Unix groups of a user.
pub(crate) trait Groups {
    /// Names of every group `user` belongs to, primary included.
    fn groups_of(&self, user: &str) -> Result<Vec<String>, String>;
}

/// Everything the flow uses besides the PAM handle.
pub(crate) struct Env<'a, B: Backend> {
    /// Engine operations in short store transactions.
    pub(crate) backend: &'a B,
    /// Sends SMS and notices once a transaction is over.
    pub(crate) sender: &'a dyn Sender,
    /// Where log lines go.
    pub(crate) log: &'a dyn Log,
    /// System groups.
    pub(crate) groups: &'a dyn Groups,
    /// The clock.
    pub(crate) clock: &'a dyn Fn() -> UnixTime,
    /// Whether `sms_command=` is set.
    pub(crate) sms_configured: bool,
    /// `action=`, for step-up stacks.
    pub(crate) action: Option<String>,
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
    pub(crate) subject: Subject,
    pub(crate) ctx: Context,
}

impl Who {
    pub(crate) fn user(&self) -> &str {
        &self.subject.user
    }

    /// Reads user, service and remote host from PAM and groups from the system.
    pub(crate) fn read<B: Backend>(pam: &dyn Pam, env: &Env<'_, B>) -> Result<Who, PamCode> {
        let user = pam.user().map_err(|PamError(code)| {
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
        // Groups matter only to decide who is an admin; an NSS failure then
        // fails closed rather than treat an admin as a plain user.
        let groups = if env.backend.policy().enforcement.mode == Mode::RequiredForAdmins {
            env.groups.groups_of(&user).map_err(|e| {
                env.log(
                    Severity::Error,
                    &format!("user={user}: cannot read groups: {e}"),
                );
                PamCode::AuthInfoUnavail
            })?
        } else {
            Vec::new()
        };
        Ok(Who {
            subject: Subject {
                user,
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
        let mut s = format!("user={} service={}", self.subject.user, self.ctx.service);
        if let Some(r) = &self.ctx.remote {
            s.push_str(&format!(" remote={r}"));
        }
        if let Some(a) = &self.ctx.action {
            s.push_str(&format!(" action={a}"));
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
