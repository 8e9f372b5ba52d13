//! One module per command; [`run`] dispatches.

mod admin;
mod audit;
mod doctor;
mod enroll;
mod import;
mod init;
mod policy;
mod serve;
mod status;

use crate::args::{Admin, Cli, Command, Enroll, Import, PolicyCmd};
use crate::error::{plain_io, CliError, CliResult};
use crate::host::{account, account_or_stored, Host};
use planasonix_core::text::{escape_json, escape_line};
use std::io::Write;

/// What a command writes to and how.
pub struct Out<'a> {
    w: &'a mut dyn Write,
    /// `--json`.
    pub json: bool,
}

impl Out<'_> {
    /// Writes `text` and a newline. Names and reasons in it come from
    /// outside: every control or format character except the newlines that
    /// end its lines is written as an escape, so nothing reaches the terminal
    /// raw (QR block characters and recovery codes are printable and stay).
    pub fn line(&mut self, text: impl AsRef<str>) -> CliResult<()> {
        let mut lines = text.as_ref().split('\n').map(escape_line);
        let mut safe = lines.next().unwrap_or_default();
        for line in lines {
            safe.push('\n');
            safe.push_str(&line);
        }
        writeln!(self.w, "{safe}").map_err(write_error)
    }

    /// Writes `value` as pretty JSON and a newline, with the characters
    /// `serde_json` passes through raw (DEL, C1 controls, bidi overrides)
    /// written as `\u` escapes.
    pub fn json(&mut self, value: &serde_json::Value) -> CliResult<()> {
        let text = serde_json::to_string_pretty(value)
            .map_err(|e| CliError::failed(format!("cannot render JSON: {e}")))?;
        writeln!(self.w, "{}", escape_json(&text)).map_err(write_error)
    }

    /// Makes everything written so far visible (before waiting for input).
    pub fn flush(&mut self) -> CliResult<()> {
        self.w.flush().map_err(write_error)
    }
}

fn write_error(e: std::io::Error) -> CliError {
    CliError::failed(format!("cannot write output: {}", plain_io(&e)))
}

/// Runs the command line `cli`, writing results to `w`.
pub fn run(cli: Cli, w: &mut dyn Write) -> CliResult<()> {
    let host = Host {
        config: cli.config,
        db: cli.db,
        key: cli.key,
        wait: cli.wait,
        notice_command: cli.notice_command,
    };
    let mut out = Out { w, json: cli.json };
    match cli.command {
        Command::Init => init::run(&host, &mut out),
        Command::Enroll(Enroll::Totp {
            user,
            qr_png,
            qr_svg,
            qr_invert,
        }) => enroll::totp(&host, &mut out, user.user, qr_png, qr_svg, qr_invert),
        Command::Enroll(Enroll::Sms {
            user,
            phone,
            sms_command,
            sms_timeout,
        }) => enroll::sms(
            &host,
            &mut out,
            user.user,
            phone.as_deref(),
            sms_command,
            sms_timeout,
        ),
        Command::RecoveryCodes { user, regenerate } => {
            status::recovery_codes(&host, &mut out, user.user, regenerate)
        }
        Command::Status { user } => status::status(&host, &mut out, user.user),
        Command::Admin(Admin::ProvisionTotp {
            user,
            secret,
            secret_file,
        }) => admin::provision(
            &host,
            &mut out,
            &account(&user)?,
            secret.as_deref(),
            secret_file.as_deref(),
        ),
        Command::Admin(Admin::Reset { user, reason }) => {
            admin::reset(&host, &mut out, &account_or_stored(&user)?, &reason)
        }
        Command::Admin(Admin::Unlock { user }) => {
            admin::unlock(&host, &mut out, &account_or_stored(&user)?)
        }
        Command::Admin(Admin::List) => admin::list(&host, &mut out),
        Command::Import(Import::GoogleAuthenticator { user, file }) => {
            import::google_authenticator(&host, &mut out, user.user, &file)
        }
        Command::Import(Import::OathUsersfile { file }) => {
            import::oath_usersfile(&host, &mut out, &file)
        }
        Command::Policy(PolicyCmd::Check { file }) => policy::check(&host, &mut out, file),
        Command::Policy(PolicyCmd::Explain {
            user,
            groups,
            action,
            amr,
            service,
        }) => {
            let user = account_or_stored(&user)?;
            policy::explain(&host, &mut out, &user, groups, action, amr, service)
        }
        Command::Audit { user, since } => {
            let user = user.as_deref().map(account_or_stored).transpose()?;
            audit::run(&host, &mut out, user, since)
        }
        Command::Serve => serve::run(&host, &mut out),
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
            clap_complete::generate(shell, &mut command, "planasonix", out.w);
            Ok(())
        }
    }
}

/// Prints fresh recovery codes with the advice that goes with them.
pub fn print_recovery_codes(
    out: &mut Out<'_>,
    user: &str,
    codes: &[planasonix_core::SecretString],
) -> CliResult<()> {
    if codes.is_empty() {
        return out.line(format!(
            "{user} still has unused recovery codes; they stay valid (make a new set with `planasonix recovery-codes --regenerate`)."
        ));
    }
    out.line("")?;
    out.line(format!(
        "Recovery codes for {user}. Each works once, for when the phone is lost.\nStore them somewhere safe now: they are not shown again."
    ))?;
    out.line("")?;
    for code in codes {
        out.line(format!("    {}", code.expose()))?;
    }
    out.line("")
}
