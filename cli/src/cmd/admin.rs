//! `planasonix admin …`: provisioning, reset, unlock, list.

use super::status::{factor_list, to_json};
use super::{print_recovery_codes, Out};
use crate::error::{CliError, CliResult};
use crate::host::Host;
use crate::private_input::{read_private_file, read_private_line};
use planasonix_core::otpauth::parse_base32;
use planasonix_core::SecretBytes;
use planasonix_native::{now, OsRandom};
use std::path::Path;

/// RFC 4226 §4 R6: at least 128 bits of shared secret.
const MIN_SECRET_BYTES: usize = 16;
/// Longest secret accepted (SHA-512 block-sized).
const MAX_SECRET_BYTES: usize = 128;

/// Decodes a base32 TOTP secret (from standard input or a file).
pub fn secret_from_base32(text: &str, min: usize) -> CliResult<SecretBytes> {
    let bytes = parse_base32(text).ok_or_else(|| {
        CliError::usage(
            "the secret is not base32 (letters A-Z and digits 2-7, as authenticator apps show it)",
        )
    })?;
    let secret = SecretBytes::new(bytes);
    if secret.len() < min || secret.len() > MAX_SECRET_BYTES {
        return Err(CliError::usage(format!(
            "the secret is {} bytes; it must be {min} to {MAX_SECRET_BYTES} bytes ({} to {} base32 characters)",
            secret.len(),
            (min * 8).div_ceil(5),
            (MAX_SECRET_BYTES * 8).div_ceil(5)
        )));
    }
    Ok(secret)
}

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
    secret_from_base32(text.trim(), MIN_SECRET_BYTES)
}

pub fn provision(
    host: &Host,
    out: &mut Out<'_>,
    user: &str,
    secret: Option<&str>,
    secret_file: Option<&Path>,
) -> CliResult<()> {
    let secret = provided_secret(secret, secret_file)?;
    let policy = host.policy()?;
    let key = host.seal_key()?;
    let enrolled = host.with_engine(&policy, &key, None, |engine| {
        let params = engine.totp_params();
        Ok(engine.provision_totp(user, &secret, params, now(), &mut OsRandom::new())?)
    })?;
    if out.json {
        let list: Vec<&str> = enrolled.recovery_codes.iter().map(|c| c.expose()).collect();
        return out.json(&serde_json::json!({ "user": user, "recovery_codes": list }));
    }
    out.line(format!("Authenticator app provisioned for {user}."))?;
    print_recovery_codes(out, user, &enrolled.recovery_codes)
}

pub fn reset(host: &Host, out: &mut Out<'_>, user: &str, reason: &str) -> CliResult<()> {
    if reason.trim().is_empty() {
        return Err(CliError::usage(
            "--reason must say why (it is kept in the audit log)",
        ));
    }
    let policy = host.policy()?;
    let key = host.seal_key()?;
    host.with_engine(&policy, &key, None, |engine| {
        Ok(engine.admin_reset(user, reason, now())?)
    })?;
    out.line(format!(
        "Reset {user}: every second factor and recovery code is gone; {user} must enroll again within {}.",
        planasonix_core::time::format_duration(policy.reset.grace)
    ))
}

pub fn unlock(host: &Host, out: &mut Out<'_>, user: &str) -> CliResult<()> {
    let policy = host.policy()?;
    let key = host.seal_key()?;
    host.with_engine(&policy, &key, None, |engine| {
        Ok(engine.admin_unlock(user, now())?)
    })?;
    out.line(format!("Unlocked {user}; failed codes are forgotten."))
}

pub fn list(host: &Host, out: &mut Out<'_>) -> CliResult<()> {
    let policy = host.policy()?;
    let key = host.seal_key()?;
    let at = now();
    let all = host.with_engine(&policy, &key, None, |engine| {
        let mut all = Vec::new();
        for user in engine.users()? {
            all.push(engine.status(&user, at)?);
        }
        Ok(all)
    })?;
    if out.json {
        let list = all.iter().map(to_json).collect::<CliResult<Vec<_>>>()?;
        return out.json(&serde_json::Value::Array(list));
    }
    if all.is_empty() {
        return out.line("No users have stored MFA state.");
    }
    let width = all
        .iter()
        .map(|s| s.user.chars().count())
        .max()
        .unwrap_or(4)
        .max(4);
    out.line(format!(
        "{:<width$}  {:<8}  {:<8}  {:<20}  FACTORS",
        "USER", "ENROLLED", "RECOVERY", "LOCKED UNTIL"
    ))?;
    for s in &all {
        out.line(format!(
            "{:<width$}  {:<8}  {:<8}  {:<20}  {}",
            s.user,
            if s.enrolled { "yes" } else { "no" },
            s.recovery_remaining,
            s.locked_until
                .map_or_else(|| "-".to_owned(), |t| t.to_string()),
            factor_list(&s.factors)
        ))?;
    }
    Ok(())
}
