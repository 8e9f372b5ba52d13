//! The deployment a command acts on: where its policy, database and seal key
//! are, how long to wait for the database, and where notices go; and the one
//! way a command runs the engine on it.
//!
//! Every engine call goes through native's [`EngineCall`]: one short
//! transaction (through the state service, `planasonix serve`, when it runs;
//! otherwise the database is opened for it and closed again at once, since
//! the PAM module on the same host needs it too and sled admits one process at
//! a time), then what the engine queued is sent with the database closed, and
//! what could not be sent is recorded. See ARCHITECTURE.md for the map.

use crate::error::{plain_io, CliError, CliResult, Exit};
use planasonix_core::text::{escape_line, Field};
use planasonix_core::{AuditEvent, AuditSink, Engine, Error, Policy, SealKey, SmsPurpose, Store};
use planasonix_native::delivery::{Commands, DEFAULT_TIMEOUT};
use planasonix_native::syslog::{AuditToLog, Syslog};
use planasonix_native::{
    load_key_file, read_policy_file, read_store_file, EngineCall, PolicyFileError, SmsFor, StateDb,
    StoreSetting, TrailPlace, Transactions, TrustedFileError, Undelivered,
};
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The paths and options every command shares (the global options).
#[derive(Debug)]
pub struct Deployment {
    /// Policy file.
    pub config: PathBuf,
    /// Database directory.
    pub db: PathBuf,
    /// Seal key file.
    pub key: PathBuf,
    /// Store file (absent: the embedded database at `db`).
    pub store: PathBuf,
    /// Longest wait for the database.
    pub wait: Duration,
    /// Program that delivers notices, if any.
    pub notice_command: Option<PathBuf>,
}

/// Where the SMS a call may queue goes, and what it is for (so a failed send
/// voids the right code).
#[derive(Debug)]
pub struct SmsRoute<'a> {
    /// The SMS command.
    pub program: &'a Path,
    /// Whether it reads the number from its standard input (`--sms-input`).
    pub stdin: bool,
    /// How long it may run (`--sms-timeout`).
    pub timeout: Duration,
    /// Whose code it carries.
    pub user: &'a str,
    /// Enrollment or login.
    pub purpose: SmsPurpose,
}

impl Deployment {
    /// The policy in force, refused like the PAM module refuses it when
    /// someone other than root could change it.
    pub fn policy(&self) -> CliResult<Policy> {
        read_policy_file(&self.config).map_err(|e| match e {
            PolicyFileError::File(TrustedFileError::Unreadable { ref error, .. })
                if error.kind() == io::ErrorKind::PermissionDenied =>
            {
                CliError::new(Exit::Permission, e.to_string())
            }
            e => CliError::failed(e.to_string()),
        })
    }

    /// The seal key (refused when group or others can read it).
    pub fn seal_key(&self) -> CliResult<SealKey> {
        Ok(load_key_file(&self.key)?)
    }

    /// The store setting in force, refused like the PAM module refuses it.
    pub fn setting(&self) -> CliResult<StoreSetting> {
        read_store_file(&self.store).map_err(|e| CliError::new(Exit::Store, e.to_string()))
    }

    /// The database as native's transactions reach it: on a shared store,
    /// through `planasonix serve` only.
    pub fn state(&self) -> CliResult<StateDb> {
        Ok(StateDb {
            db: self.db.clone(),
            wait: self.wait,
            shared: self.setting()?.is_shared(),
        })
    }

    /// Checks the database directory before sled sees it, so a missing or
    /// forbidden directory gets a plain answer instead of being created. On
    /// a shared store there is no database here to check.
    pub fn check_db(&self) -> CliResult<()> {
        if self.setting()?.is_shared() {
            return Ok(());
        }
        let meta = match std::fs::metadata(&self.db) {
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(CliError::new(
                    Exit::Store,
                    format!(
                        "database {} does not exist; create it with `planasonix init`",
                        self.db.display()
                    ),
                ))
            }
            Err(e) => return Err(db_io(&self.db, &e)),
        };
        if !meta.is_dir() {
            return Err(CliError::new(
                Exit::Store,
                format!("database {} is not a directory", self.db.display()),
            ));
        }
        std::fs::read_dir(&self.db).map_err(|e| db_io(&self.db, &e))?;
        Ok(())
    }

    /// Runs `work` on an engine over the database, open only for this call,
    /// then sends what it queued (SMS through `sms`, notices through
    /// `--notice-command`) with the database closed again.
    ///
    /// When `work` fails, that is the error. Otherwise the first SMS that
    /// could not be sent is: its code voided and the failure audited
    /// ([`Engine::sms_not_delivered`]). A failed notice is audited as
    /// `notice-failed` and does not fail the command: the change it reports
    /// has happened.
    pub fn with_engine<T>(
        &self,
        policy: &Policy,
        key: &SealKey,
        sms: Option<&SmsRoute<'_>>,
        work: impl FnOnce(&Engine<'_>) -> CliResult<T>,
    ) -> CliResult<T> {
        self.check_db()?;
        let syslog = Syslog::new("planasonix", None);
        let audit = CliAudit(AuditToLog(&syslog));
        // Notices run within native's default, whatever `--sms-timeout` says
        // (it is the SMS command's, as its help says). Only `enroll sms`
        // texts anyone, and it always says where to.
        let sender = Commands {
            sms: sms.map(|r| r.program.to_path_buf()),
            sms_stdin: sms.is_some_and(|r| r.stdin),
            notice: self.notice_command.clone(),
            sms_timeout: sms.map_or(DEFAULT_TIMEOUT, |r| r.timeout),
            notice_timeout: DEFAULT_TIMEOUT,
        };
        let state = self.state()?;
        let place = TrailPlace::of(&state);
        let call = EngineCall::new(&state, &place, policy, key, &audit, &sender);
        let whose = sms.map(|r| SmsFor {
            user: r.user,
            purpose: r.purpose,
            ctx: None,
        });
        let (result, undelivered) = call.run(whose, work);
        let value = result?;
        match undelivered.into_iter().find_map(sms_error) {
            Some(e) => Err(e),
            None => Ok(value),
        }
    }

    /// Runs `work` on the raw store, open only for this call.
    pub fn with_store<T>(&self, work: impl FnOnce(&dyn Store) -> CliResult<T>) -> CliResult<T> {
        self.check_db()?;
        self.state()?.transaction(work)
    }
}

/// The error to show for an SMS that was not sent; `None` for a notice
/// (audited as `notice-failed`, or not even that: neither is worth failing a
/// command whose change has happened).
fn sms_error(undelivered: Undelivered) -> Option<CliError> {
    let Undelivered::Sms { failure, recorded } = undelivered else {
        return None;
    };
    Some(match recorded {
        Some(Ok(shown)) => shown.into(),
        Some(Err(e)) => {
            let mut shown = CliError::from(Error::SmsDeliveryFailed(failure.to_string()));
            shown.message.push_str(&format!(
                "; recording the failure failed too ({}), so the unsent code stays pending until it expires",
                CliError::from(e).message
            ));
            shown
        }
        // Every call that may queue an SMS says whose it is; say so plainly
        // should one not.
        None => Error::SmsDeliveryFailed(failure.to_string()).into(),
    })
}

/// Audit events to syslog (tag `planasonix`) as every native door writes
/// them, plus the one warning the CLI prints outside its output stream: the
/// command succeeded, but its record of it did not reach the audit trail.
struct CliAudit<'a>(AuditToLog<'a>);

impl AuditSink for CliAudit<'_> {
    fn record(&self, event: &AuditEvent) {
        self.0.record(event);
    }

    fn trail_failed(&self, user: &str, error: &str) {
        let text = escape_line(&format!(
            "audit trail not written for user={}: {error}",
            Field(user)
        ));
        #[allow(clippy::print_stderr)]
        {
            eprintln!("planasonix: warning: {text}");
        }
        self.0.trail_failed(user, error);
    }
}

fn db_io(path: &Path, e: &io::Error) -> CliError {
    let exit = if e.kind() == io::ErrorKind::PermissionDenied {
        Exit::Permission
    } else {
        Exit::Store
    };
    CliError::new(
        exit,
        format!("cannot open database {}: {}", path.display(), plain_io(e)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use planasonix_core::phone::PhoneNumber;
    use planasonix_core::{Message, Notice, NoticeKind, SecretString, StoreError, UnixTime};
    use planasonix_native::delivery::{DeliveryFailure, Sender};

    fn exited() -> DeliveryFailure {
        DeliveryFailure::Exited {
            program: "/usr/local/bin/send-sms".into(),
            status: 7,
        }
    }

    #[test]
    fn an_unsent_sms_is_the_error_shown_and_an_unsent_notice_is_none() {
        let recorded = Error::SmsDeliveryFailed(exited().to_string());
        let shown = sms_error(Undelivered::Sms {
            failure: exited(),
            recorded: Some(Ok(recorded.clone())),
        });
        assert_eq!(shown.map(|e| e.message), Some(recorded.to_string()));

        let shown = sms_error(Undelivered::Sms {
            failure: exited(),
            recorded: Some(Err(Error::Store(StoreError::Busy))),
        })
        .unwrap();
        assert_eq!(shown.exit, Exit::Failed);
        assert!(
            shown
                .message
                .starts_with(&format!("{recorded}; recording the failure failed too (")),
            "{}",
            shown.message
        );
        assert!(
            shown
                .message
                .ends_with("), so the unsent code stays pending until it expires"),
            "{}",
            shown.message
        );

        assert!(sms_error(Undelivered::Notice {
            user: "alice".into(),
            failure: exited(),
            recorded: Ok(()),
        })
        .is_none());
    }

    #[test]
    fn sms_and_notices_go_to_their_own_commands() {
        let sender = Commands {
            sms: Some("/nonexistent/send-sms".into()),
            sms_stdin: false,
            notice: Some("/nonexistent/send-notice".into()),
            sms_timeout: Duration::from_secs(1),
            notice_timeout: DEFAULT_TIMEOUT,
        };
        let program = |m: &Message| match sender.send(m) {
            Err(DeliveryFailure::CannotStart { program, .. }) => program,
            other => panic!("{other:?}"),
        };
        let sms = Message::Sms {
            to: PhoneNumber::parse("+447700900123").unwrap(),
            text: SecretString::new("code".into()),
        };
        let notice = Message::Notice(Notice {
            user: "alice".into(),
            kind: NoticeKind::Reset,
            at: UnixTime(0),
        });
        assert_eq!(program(&sms), Path::new("/nonexistent/send-sms"));
        assert_eq!(program(&notice), Path::new("/nonexistent/send-notice"));
    }
}
