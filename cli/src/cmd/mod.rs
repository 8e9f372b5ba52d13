//! One module per command; [`run`] dispatches.

mod admin;
mod audit;
mod deliver;
mod doctor;
mod enroll;
mod import;
mod init;
mod policy;
mod serve;
mod status;
mod store;

use crate::args::{Admin, Cli, Command, DeliverCmd, Enroll, Import, PolicyCmd, StoreCmd};
use crate::deployment::Deployment;
use crate::error::CliResult;
use crate::out::Out;
use crate::shared::{account, account_or_stored};
use std::io::Write;

/// Runs the command line `cli`, writing results to `w`.
pub fn run(cli: Cli, w: &mut dyn Write) -> CliResult<()> {
    let deployment = Deployment {
        config: cli.config,
        db: cli.db,
        key: cli.key,
        store: cli.store,
        wait: cli.wait,
        notice_command: cli.notice_command,
    };
    let mut out = Out::new(w, cli.json);
    match cli.command {
        Command::Init { postgresql } => init::run(&deployment, &mut out, postgresql.as_deref()),
        Command::Enroll(Enroll::Totp {
            user,
            qr_png,
            qr_svg,
            qr_invert,
        }) => enroll::totp(&deployment, &mut out, user.user, qr_png, qr_svg, qr_invert),
        Command::Enroll(Enroll::Sms {
            user,
            phone,
            sms_command,
            sms_input,
            sms_timeout,
        }) => enroll::sms(
            &deployment,
            &mut out,
            user.user,
            phone.as_deref(),
            sms_command,
            sms_input == "stdin",
            sms_timeout,
        ),
        Command::RecoveryCodes { user, regenerate } => {
            status::recovery_codes(&deployment, &mut out, user.user, regenerate)
        }
        Command::Status { user } => status::status(&deployment, &mut out, user.user),
        Command::Admin(Admin::ProvisionTotp {
            user,
            secret,
            secret_file,
        }) => admin::provision(
            &deployment,
            &mut out,
            &account(&user)?,
            secret.as_deref(),
            secret_file.as_deref(),
        ),
        Command::Admin(Admin::Reset { user, reason }) => {
            admin::reset(&deployment, &mut out, &account_or_stored(&user)?, &reason)
        }
        Command::Admin(Admin::RemovePasskey { user, name }) => {
            admin::remove_passkey(&deployment, &mut out, &account_or_stored(&user)?, &name)
        }
        Command::Admin(Admin::Unlock { user }) => {
            admin::unlock(&deployment, &mut out, &account_or_stored(&user)?)
        }
        Command::Admin(Admin::List) => admin::list(&deployment, &mut out),
        Command::Import(Import::GoogleAuthenticator { user, file }) => {
            import::google_authenticator(&deployment, &mut out, user.user, &file)
        }
        Command::Import(Import::OathUsersfile { file }) => {
            import::oath_usersfile(&deployment, &mut out, &file)
        }
        Command::Policy(PolicyCmd::Check { file }) => policy::check(&deployment, &mut out, file),
        Command::Policy(PolicyCmd::Explain {
            user,
            groups,
            action,
            amr,
            service,
        }) => {
            let user = account_or_stored(&user)?;
            policy::explain(&deployment, &mut out, &user, groups, action, amr, service)
        }
        Command::Audit { user, since, host } => {
            let user = user.as_deref().map(account_or_stored).transpose()?;
            audit::run(&deployment, &mut out, user, since, host.as_deref())
        }
        Command::Serve => serve::run(&deployment, &mut out),
        Command::Deliver(DeliverCmd::Sms { file, to }) => {
            deliver::sms(&file.delivery, to.as_deref())
        }
        Command::Deliver(DeliverCmd::Notice { file, user }) => {
            deliver::notice(&file.delivery, &user)
        }
        Command::Deliver(DeliverCmd::Test { file, to, user }) => {
            deliver::test(&file.delivery, &mut out, to.as_deref(), user.as_deref())
        }
        Command::Store(StoreCmd::Check) => store::check(&deployment, &mut out),
        Command::Store(StoreCmd::Migrate) => store::migrate(&deployment, &mut out),
        Command::Store(StoreCmd::Copy { from, to }) => {
            store::copy(&deployment, &mut out, &from, to.as_deref())
        }
        Command::Doctor(d) => doctor::run(
            &mut out,
            &doctor::Options {
                pam_dir: d.pam_dir,
                sshd_config: d.sshd_config,
                sshd: d.sshd,
                summary: d.summary,
            },
        ),
        Command::Completions { shell } => {
            let mut command = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut command, "planasonix", out.raw());
            Ok(())
        }
    }
}
