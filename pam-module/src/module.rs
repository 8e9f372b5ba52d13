//! From a PAM call to the flow: arguments, policy, seal key, store, delivery,
//! syslog.
//!
//! Safe code; the libpam side is in `ffi`, which calls [`run`].

use crate::args::ModuleArgs;
use crate::code::PamCode;
use crate::flow::{self, messages, Accounts, Env, Site};
use crate::pam::Pam;
use planasonix_core::text::Field;
use planasonix_native::accounts::{self, Account, AccountError};
use planasonix_native::delivery::Commands;
use planasonix_native::syslog::{AuditToLog, Log, Severity, Syslog};
use planasonix_native::{
    load_key_file, read_policy_file, read_store_file, EngineCall, OsRandom, Remembering, StateDb,
    TrailPlace,
};

/// Which PAM entry point is running.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stage {
    /// `pam_sm_authenticate`.
    Auth,
    /// `pam_sm_acct_mgmt`.
    Account,
}

impl Stage {
    fn name(self) -> &'static str {
        match self {
            Stage::Auth => "auth",
            Stage::Account => "account",
        }
    }
}

/// The syslog writer for one call: tagged with the host program's name
/// (`sshd`, `sudo`), each line prefixed `pam_planasonix(SERVICE:STAGE)` as
/// libpam's `pam_syslog` does.
fn syslog(service: &str, stage: &str) -> Syslog {
    let prefix = format!("pam_planasonix({}:{stage})", Field(service));
    Syslog::new(&Syslog::program_name(), Some(&prefix))
}

/// Reports a panic the entry point caught (its place only: a payload could
/// hold anything).
#[cfg_attr(test, allow(dead_code))] // Installed as the panic hook outside tests.
pub(crate) fn report_panic(place: &str) {
    syslog("?", "panic").log(
        Severity::Error,
        &format!("internal error (panic at {place}); failing closed"),
    );
}

/// Runs one stage for one PAM call.
pub(crate) fn run<'a>(
    stage: Stage,
    pam: &dyn Pam,
    raw_args: impl IntoIterator<Item = &'a [u8]>,
) -> PamCode {
    let service = pam.service().unwrap_or_else(|_| "?".into());
    let log = syslog(&service, stage.name());
    let args = match ModuleArgs::parse(raw_args) {
        Ok(a) => a,
        Err(e) => {
            log.log(Severity::Error, &format!("{e}; failing closed"));
            return PamCode::AuthInfoUnavail;
        }
    };
    let log = log.with_debug(args.debug);
    let unavailable = |what: String| {
        log.log(Severity::Error, &format!("{what}; failing closed"));
        let _ = pam.error(messages::UNAVAILABLE);
        PamCode::AuthInfoUnavail
    };
    let policy = match read_policy_file(&args.config) {
        Ok(p) => p,
        Err(e) => return unavailable(e.to_string()),
    };
    if let Some(action) = &args.action {
        if !policy.step_up.contains_key(action) {
            return unavailable(format!(
                "action={action} is not in the [step_up] table of {}",
                args.config.display()
            ));
        }
    }
    // Without the key or a usable store setting, only the policy answers:
    // break-glass and out-of-scope users must get in exactly then.
    let from_policy_alone = |why: String| {
        let site = Site {
            policy: &policy,
            accounts: &SystemAccounts,
            log: &log,
            action: args.action.clone(),
        };
        flow::from_policy_alone(pam, &site, &why)
    };
    let key = match load_key_file(&args.key) {
        Ok(k) => k,
        Err(e) => return from_policy_alone(e.to_string()),
    };
    let shared = match read_store_file(&args.store) {
        Ok(setting) => setting.is_shared(),
        Err(e) => return from_policy_alone(e.to_string()),
    };
    // `store_wait=` is longer than the core's default so that a burst of
    // logins queues rather than fails; a stalled service fails the login
    // closed once it has passed. The record the decision reads is the one
    // the code is checked against: the store is asked once per login
    // (`Remembering` says why that lets nothing stale through).
    let db = StateDb {
        db: args.db.clone(),
        wait: args.store_wait,
        shared,
    };
    let place = TrailPlace::of(&db);
    let state = Remembering::new(db);
    let sender = Commands {
        sms: args.sms_command.clone(),
        sms_stdin: args.sms_stdin,
        notice: args.notice_command.clone(),
        sms_timeout: args.delivery_timeout,
        notice_timeout: args.delivery_timeout,
    };
    let audit = AuditToLog(&log);
    let env = Env {
        engine: EngineCall::new(&state, &place, &policy, &key, &audit, &sender),
        log: &log,
        accounts: &SystemAccounts,
        action: args.action.clone(),
    };
    let code = match stage {
        Stage::Auth => flow::authenticate(pam, &env, &mut OsRandom::new()),
        Stage::Account => flow::account(pam, &env),
    };
    log.log(Severity::Debug, &format!("returning {code}"));
    code
}

/// The system's account databases, through NSS.
struct SystemAccounts;

impl Accounts for SystemAccounts {
    fn resolve(&self, typed: &str) -> Result<Account, AccountError> {
        accounts::resolve(typed)
    }

    fn groups_of(&self, account: &Account) -> Result<Vec<String>, AccountError> {
        accounts::groups_of(account)
    }
}
