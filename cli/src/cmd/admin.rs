//! `planasonix admin …`: provisioning, reset, unlock, list.

use crate::deployment::Deployment;
use crate::error::{CliError, CliResult};
use crate::out::Out;
use crate::private_input::{read_private_file, read_private_line};
use crate::shared::{
    factor_list, json_value, print_recovery_codes, recovery_codes_json, secret_from_base32,
};
use planasonix_core::text::Field;
use planasonix_core::{Error, SecretBytes, StoreError, UserStatus};
use planasonix_native::{now, OsRandom};
use std::path::Path;

/// RFC 4226 §4 R6: at least 128 bits of shared secret.
const MIN_SECRET_BYTES: usize = 16;
/// What `--secret VALUE` says: where the secret may come from instead.
const SECRET_ON_ARGV: &str = "a secret on the command line is readable by every user of this host (ps, /proc) and kept in shell history and sudo's log, so treat the value given as exposed; give `--secret -` to read it from standard input, or `--secret-file PATH` to read it from a file only root may read";

/// Longest line of base32 read from standard input.
const MAX_SECRET_LINE: usize = 1024;

/// The secret to provision: from standard input (`--secret -`) or a private
/// file (`--secret-file PATH`), never from the command line itself.
fn provided_secret(secret: Option<&str>, secret_file: Option<&Path>) -> CliResult<SecretBytes> {
    let text = match (secret, secret_file) {
        (Some("-"), None) => read_private_line("Secret (base32): ", MAX_SECRET_LINE)?,
        (None, Some(path)) => read_private_file(path)?,
        (Some(_), None) => return Err(CliError::usage(SECRET_ON_ARGV)),
        // clap requires exactly one of the two.
        _ => return Err(CliError::usage("give `--secret -` or `--secret-file PATH`")),
    };
    secret_from_base32(text.trim(), MIN_SECRET_BYTES).map_err(|e| CliError::usage(e.to_string()))
}

pub fn provision(
    deployment: &Deployment,
    out: &mut Out<'_>,
    user: &str,
    secret: Option<&str>,
    secret_file: Option<&Path>,
) -> CliResult<()> {
    let secret = provided_secret(secret, secret_file)?;
    let policy = deployment.policy()?;
    let key = deployment.seal_key()?;
    let enrolled = deployment.with_engine(&policy, &key, None, |engine| {
        let params = engine.totp_params();
        Ok(engine.provision_totp(user, &secret, params, now(), &mut OsRandom::new())?)
    })?;
    if out.json {
        return out.json(&recovery_codes_json(user, &enrolled.recovery_codes));
    }
    out.line(format!("Authenticator app provisioned for {user}."))?;
    print_recovery_codes(out, user, &enrolled.recovery_codes)
}

pub fn reset(
    deployment: &Deployment,
    out: &mut Out<'_>,
    user: &str,
    reason: &str,
) -> CliResult<()> {
    if reason.trim().is_empty() {
        return Err(CliError::usage(
            "--reason must say why (it is kept in the audit log)",
        ));
    }
    let policy = deployment.policy()?;
    let key = deployment.seal_key()?;
    deployment.with_engine(&policy, &key, None, |engine| {
        Ok(engine.admin_reset(user, reason, now())?)
    })?;
    out.line(format!(
        "Reset {user}: every second factor and recovery code is gone; {user} must enroll again within {}.",
        planasonix_core::time::format_duration(policy.reset.grace)
    ))
}

pub fn unlock(deployment: &Deployment, out: &mut Out<'_>, user: &str) -> CliResult<()> {
    let policy = deployment.policy()?;
    let key = deployment.seal_key()?;
    deployment.with_engine(&policy, &key, None, |engine| {
        Ok(engine.admin_unlock(user, now())?)
    })?;
    out.line(format!("Unlocked {user}; failed codes are forgotten."))
}

/// Removes `user`'s passkey `name`. The last-factor rule is judged with the
/// groups this host's NSS gives the user (none for a user unknown here).
pub fn remove_passkey(
    deployment: &Deployment,
    out: &mut Out<'_>,
    user: &str,
    name: &str,
) -> CliResult<()> {
    let policy = deployment.policy()?;
    let key = deployment.seal_key()?;
    let groups = planasonix_native::accounts::resolve(user)
        .and_then(|a| planasonix_native::accounts::groups_of(&a))
        .unwrap_or_default();
    let subject = planasonix_core::Subject {
        user: user.to_owned(),
        groups,
        amr: Vec::new(),
    };
    deployment.with_engine(&policy, &key, None, |engine| {
        Ok(engine.remove_passkey(&subject, name, now())?)
    })?;
    out.line(format!(
        "Removed the passkey {} of {user}; their sessions at the identity provider have ended.",
        Field(name)
    ))
}

/// One row of `admin list`: a user's status, or why their stored record
/// cannot be read (the list goes on; `admin reset` replaces such a record).
enum Row {
    Status(Box<UserStatus>),
    Unreadable { user: String, why: String },
}

pub fn list(deployment: &Deployment, out: &mut Out<'_>) -> CliResult<()> {
    let policy = deployment.policy()?;
    let key = deployment.seal_key()?;
    let at = now();
    let all = deployment.with_engine(&policy, &key, None, |engine| {
        let mut all = Vec::new();
        for user in engine.users()? {
            all.push(match engine.status(&user, at) {
                Ok(s) => Row::Status(Box::new(s)),
                Err(Error::Store(
                    e @ (StoreError::Tampered { .. } | StoreError::Corrupt { .. }),
                )) => Row::Unreadable {
                    user,
                    why: e.to_string(),
                },
                Err(e) => return Err(e.into()),
            });
        }
        Ok(all)
    })?;
    if out.json {
        let list = all
            .iter()
            .map(|row| match row {
                Row::Status(s) => json_value(s.as_ref()),
                Row::Unreadable { user, why } => Ok(serde_json::json!({
                    "user": user,
                    "unreadable": why,
                })),
            })
            .collect::<CliResult<Vec<_>>>()?;
        return out.json(&serde_json::Value::Array(list));
    }
    if all.is_empty() {
        return out.line("No users have stored MFA state.");
    }
    let width = all
        .iter()
        .map(|row| match row {
            Row::Status(s) => s.user.chars().count(),
            Row::Unreadable { user, .. } => user.chars().count(),
        })
        .max()
        .unwrap_or(4)
        .max(4);
    out.line(format!(
        "{:<width$}  {:<8}  {:<8}  {:<20}  FACTORS",
        "USER", "ENROLLED", "RECOVERY", "LOCKED UNTIL"
    ))?;
    let mut unreadable = 0;
    for row in &all {
        match row {
            Row::Status(s) => out.line(format!(
                "{:<width$}  {:<8}  {:<8}  {:<20}  {}",
                s.user,
                if s.enrolled { "yes" } else { "no" },
                s.recovery_remaining,
                locked_column(s),
                factor_list(&s.factors)
            ))?,
            Row::Unreadable { user, why } => {
                unreadable += 1;
                out.line(format!("{user:<width$}  UNREADABLE: {why}"))?
            }
        }
    }
    if unreadable > 0 {
        out.line(format!(
            "{unreadable} stored record(s) cannot be read with this seal key; their users are refused at every door until `planasonix admin reset NAME --reason TEXT` replaces the record (their factors are lost and they enroll again)."
        ))?;
    }
    Ok(())
}

/// The LOCKED UNTIL column: the lock everywhere, else the latest lock of
/// one or more addresses (logins from elsewhere still get in).
fn locked_column(s: &UserStatus) -> String {
    if let Some(t) = s.locked_until {
        return t.to_string();
    }
    match s.remote_locks.iter().map(|l| l.until).max() {
        Some(until) => {
            let n = s.remote_locks.len();
            let what = if n == 1 { "address" } else { "addresses" };
            format!("{until} (from {n} {what})")
        }
        None => "-".to_owned(),
    }
}
