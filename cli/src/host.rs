//! What every command needs from the host: the policy, the seal key and short
//! database transactions.
//!
//! Each transaction goes through the state service (`planasonix serve`) when it
//! runs; otherwise the database is opened per transaction and closed again at
//! once (DESIGN decision 3): the PAM module on the same host needs it too, and
//! sled admits one process at a time. Nothing here ever waits for a person, or for an SMS
//! or notice command, with it open: the engine queues its messages in a
//! [`Deferred`] and they are sent after the transaction has returned.

use crate::delivery::{CommandDelivery, SyslogSink};
use crate::error::{io_error, plain_io, CliError, CliResult, Exit};
use planasonix_core::text::Field;
use planasonix_core::Store;
use planasonix_core::{
    Deferred, Delivery, Engine, Error, Message, NoDelivery, Policy, SealKey, SmsPurpose,
};
use planasonix_native::accounts::{self, AccountError};
use planasonix_native::{
    load_key_file, now, read_policy_file, transaction, FileTrail, PolicyFileError,
};
use std::io;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Paths and options shared by every command.
#[derive(Debug)]
pub struct Host {
    /// Policy file.
    pub config: PathBuf,
    /// Database directory.
    pub db: PathBuf,
    /// Seal key file.
    pub key: PathBuf,
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
    /// How long it may run.
    pub timeout: Duration,
    /// Whose code it carries.
    pub user: &'a str,
    /// Enrollment or login.
    pub purpose: SmsPurpose,
}

/// Reads and validates the policy file at `path`.
pub fn read_policy(path: &Path) -> CliResult<Policy> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(CliError::failed(format!(
                "policy {} does not exist; create it with `planasonix init`",
                path.display()
            )))
        }
        Err(e) => return Err(io_error("cannot read policy", path, &e)),
    };
    Policy::from_toml(&text).map_err(|e| CliError::failed(format!("{}: {e}", path.display())))
}

impl Host {
    /// The policy in force, refused like the PAM module refuses it when
    /// someone other than root could change it.
    pub fn policy(&self) -> CliResult<Policy> {
        read_policy_file(&self.config).map_err(|e| match e {
            PolicyFileError::Unreadable(_, ref io)
                if io.kind() == io::ErrorKind::PermissionDenied =>
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

    /// Checks the database directory before sled sees it, so a missing or
    /// forbidden directory gets a plain answer instead of being created.
    pub fn check_db(&self) -> CliResult<()> {
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
    /// A failed SMS is recorded in a second short transaction
    /// ([`Engine::sms_not_delivered`]: its code is voided, the failure audited)
    /// and becomes this call's error. A failed notice is recorded
    /// ([`Engine::notice_not_delivered`]) and does not fail the command: the
    /// change it reports has happened.
    pub fn with_engine<T>(
        &self,
        policy: &Policy,
        key: &SealKey,
        sms: Option<&SmsRoute<'_>>,
        work: impl FnOnce(&Engine<'_>) -> CliResult<T>,
    ) -> CliResult<T> {
        let queue = Deferred::new();
        let result = self.transaction(policy, key, &queue, work);
        // Whatever `work` returned, what it committed and queued is sent.
        let sent = self.deliver(policy, key, queue.take(), sms);
        let value = result?;
        sent?;
        Ok(value)
    }

    /// One short transaction with an engine that delivers through `delivery`.
    fn transaction<T>(
        &self,
        policy: &Policy,
        key: &SealKey,
        delivery: &dyn Delivery,
        work: impl FnOnce(&Engine<'_>) -> CliResult<T>,
    ) -> CliResult<T> {
        self.check_db()?;
        let sink = SyslogSink;
        let trail = FileTrail::beside(&self.db);
        transaction(&self.db, self.wait, |store| {
            let engine = Engine::new(policy, key, store)
                .with_audit_sink(&sink)
                .with_audit_trail(&trail)
                .with_delivery(delivery);
            work(&engine)
        })
    }

    /// Sends `messages` in order; the database is closed meanwhile. Returns the
    /// error to show for the first SMS that could not be sent.
    fn deliver(
        &self,
        policy: &Policy,
        key: &SealKey,
        messages: Vec<Message>,
        sms: Option<&SmsRoute<'_>>,
    ) -> CliResult<()> {
        if messages.is_empty() {
            return Ok(());
        }
        let sender = CommandDelivery::new(
            sms.map(|r| (r.program.to_path_buf(), r.timeout)),
            self.notice_command.clone(),
        );
        let mut failure: Option<CliError> = None;
        for message in messages {
            match message {
                Message::Sms { to, text } => {
                    let Err(e) = sender.send_sms(&to, text.expose()) else {
                        continue;
                    };
                    let shown = match sms {
                        Some(route) => self.record_sms_failure(policy, key, route, &e.0),
                        // Only calls given a route queue SMS; say so plainly otherwise.
                        None => Error::SmsDeliveryFailed(e.0).into(),
                    };
                    failure.get_or_insert(shown);
                }
                Message::Notice(notice) => {
                    if let Err(e) = sender.send_notice(&notice) {
                        // Audited as `notice-failed`; a failure to record that
                        // is not worth failing the command for.
                        let _ = self.transaction(policy, key, &NoDelivery, |engine| {
                            Ok(engine.notice_not_delivered(&notice.user, &e.0, now())?)
                        });
                    }
                }
            }
        }
        failure.map_or(Ok(()), Err)
    }

    /// Voids the code of an SMS that was not sent and audits the failure, in a
    /// new short transaction; returns the error to show.
    fn record_sms_failure(
        &self,
        policy: &Policy,
        key: &SealKey,
        route: &SmsRoute<'_>,
        reason: &str,
    ) -> CliError {
        let recorded = self.transaction(policy, key, &NoDelivery, |engine| {
            Ok(engine.sms_not_delivered(route.user, route.purpose, None, reason, now())?)
        });
        match recorded {
            Ok(shown) => shown.into(),
            Err(e) => {
                let mut shown = CliError::from(Error::SmsDeliveryFailed(reason.to_owned()));
                shown.message.push_str(&format!(
                    "; recording the failure failed too ({}), so the unsent code stays pending until it expires",
                    e.message
                ));
                shown
            }
        }
    }

    /// Runs `work` on the raw store, open only for this call.
    pub fn with_store<T>(&self, work: impl FnOnce(&dyn Store) -> CliResult<T>) -> CliResult<T> {
        self.check_db()?;
        transaction(&self.db, self.wait, work)
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

/// The user a command is about: `--user`, else the person who ran it,
/// resolved through NSS like the PAM module does ([`account`]).
pub fn user_or_invoker(user: Option<String>) -> CliResult<String> {
    if let Some(u) = user {
        return account(&u);
    }
    for var in ["SUDO_USER", "USER", "LOGNAME"] {
        if let Ok(v) = std::env::var(var) {
            if !v.is_empty() {
                return account(&v);
            }
        }
    }
    Err(CliError::usage("cannot tell who you are: pass --user NAME"))
}

/// The canonical name of the account `typed` names, as NSS resolves it: the
/// record the PAM module uses for that login. When it differs from what was
/// typed, stderr says so. A name NSS does not know is refused.
pub fn account(typed: &str) -> CliResult<String> {
    match accounts::resolve(typed) {
        Ok(a) => {
            if a.name != typed {
                let _ = writeln!(
                    io::stderr(),
                    "note: {} is the account {} on this host (NSS); acting on {}",
                    Field(typed),
                    Field(&a.name),
                    Field(&a.name)
                );
            }
            Ok(a.name)
        }
        Err(AccountError::BadName(e)) => Err(e.into()),
        Err(e @ AccountError::Unknown(_)) => Err(CliError::failed(format!(
            "{e}; the PAM module refuses such logins, so there is nothing to enroll"
        ))),
        Err(e) => Err(CliError::new(Exit::Store, e.to_string())),
    }
}

/// Like [`account`], but a name NSS does not know (an account since removed
/// from the directory) is taken as typed, saying so: its stored state can
/// still be reset and its history read.
pub fn account_or_stored(typed: &str) -> CliResult<String> {
    match accounts::resolve(typed) {
        Err(AccountError::Unknown(_)) => {
            planasonix_core::input::validate_user_name(typed)?;
            let _ = writeln!(
                io::stderr(),
                "note: {} is not an account on this host (NSS); acting on the state stored under that name",
                Field(typed)
            );
            Ok(typed.to_owned())
        }
        _ => account(typed),
    }
}

/// Advice for a person who may not touch the key or database.
pub const NOT_ADMIN_HINT: &str = "only an administrator can change MFA settings here: enroll at your next login if your organisation allows it, or ask an administrator";
