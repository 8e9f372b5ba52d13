//! From a PAM call to the flow: arguments, policy, seal key, store, syslog.
//!
//! Safe code; the libpam side is in `ffi`.

use crate::args::ModuleArgs;
use crate::backend::SledBackend;
use crate::code::PamCode;
use crate::delivery::CommandSender;
use crate::ffi::syslog::Syslog;
use crate::flow::{self, Accounts, Env, Site};
use crate::log::{Log, Severity};
use crate::pam::Pam;
use planasonix_native::accounts::{self, Account, AccountError};
use planasonix_native::{load_key_file, now, read_policy_file, OsRandom};

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

/// Runs one stage for one PAM call.
pub(crate) fn run<'a>(
    stage: Stage,
    pam: &dyn Pam,
    raw_args: impl IntoIterator<Item = &'a [u8]>,
) -> PamCode {
    let service = pam.service().unwrap_or_else(|_| "?".into());
    let mut log = Syslog::new(&service, stage.name());
    let args = match ModuleArgs::parse(raw_args) {
        Ok(a) => a,
        Err(e) => {
            log.log(Severity::Error, &format!("{e}; failing closed"));
            return PamCode::AuthInfoUnavail;
        }
    };
    log.debug = args.debug;
    let unavailable = |what: String| {
        log.log(Severity::Error, &format!("{what}; failing closed"));
        let _ = pam.error(
            "Two-factor authentication is unavailable right now; contact your administrator.",
        );
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
    let key = match load_key_file(&args.key) {
        Ok(k) => k,
        Err(e) => {
            let site = Site {
                policy: &policy,
                accounts: &SystemAccounts,
                log: &log,
                action: args.action.clone(),
            };
            return flow::without_key(pam, &site, &e.to_string());
        }
    };
    let backend = SledBackend {
        db: args.db.clone(),
        policy,
        key,
        log: &log,
        wait: args.store_wait,
    };
    let sender = CommandSender {
        sms_command: args.sms_command.clone(),
        notice_command: args.notice_command.clone(),
        timeout: args.delivery_timeout,
    };
    let env = Env {
        backend: &backend,
        sender: &sender,
        log: &log,
        accounts: &SystemAccounts,
        clock: &now,
        sms_configured: args.sms_command.is_some(),
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
