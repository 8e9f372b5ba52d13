//! Who is logging in: the user as NSS knows them, the service, the remote
//! host and the step-up action, read once per stage.

use super::env::Site;
use crate::code::PamCode;
use crate::pam::{Pam, PamError};
use planasonix_core::text::Field;
use planasonix_core::{Context, Mode, Subject};
use planasonix_native::accounts::AccountError;
use planasonix_native::syslog::Severity;

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
                session: None,
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
