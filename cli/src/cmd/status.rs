//! `planasonix status` and `planasonix recovery-codes`.

use super::{print_recovery_codes, Out};
use crate::error::{CliError, CliResult};
use crate::host::{user_or_invoker, Host, NOT_ADMIN_HINT};
use planasonix_core::{Factor, UnixTime, UserStatus};
use planasonix_native::{now, OsRandom};

pub fn status(host: &Host, out: &mut Out<'_>, user: Option<String>) -> CliResult<()> {
    let user = user_or_invoker(user)?;
    let policy = host.policy()?;
    let key = host
        .seal_key()
        .map_err(|e| e.with_permission_hint(NOT_ADMIN_HINT))?;
    let status = host
        .with_engine(&policy, &key, None, |engine| {
            Ok(engine.status(&user, now())?)
        })
        .map_err(|e| e.with_permission_hint(NOT_ADMIN_HINT))?;
    if out.json {
        return out.json(&to_json(&status)?);
    }
    print_status(out, &status)
}

/// A status as JSON: the documented [`UserStatus`] fields.
pub fn to_json(status: &UserStatus) -> CliResult<serde_json::Value> {
    serde_json::to_value(status).map_err(|e| CliError::failed(format!("cannot render JSON: {e}")))
}

fn when(t: Option<UnixTime>) -> String {
    t.map_or_else(|| "never".to_owned(), |t| t.to_string())
}

pub fn factor_list(factors: &[Factor]) -> String {
    if factors.is_empty() {
        return "none".into();
    }
    factors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

fn print_status(out: &mut Out<'_>, s: &UserStatus) -> CliResult<()> {
    out.line(format!("user:              {}", s.user))?;
    out.line(format!(
        "enrolled:          {}",
        if s.enrolled { "yes" } else { "no" }
    ))?;
    out.line(format!("factors:           {}", factor_list(&s.factors)))?;
    if !s.pending.is_empty() {
        out.line(format!("awaiting confirm:  {}", factor_list(&s.pending)))?;
    }
    match s.totp_since {
        Some(since) => out.line(format!(
            "authenticator app: since {since}, last used {}",
            when(s.totp_last_used)
        ))?,
        None => out.line("authenticator app: not enrolled")?,
    }
    match &s.sms_number {
        Some(n) => out.line(format!(
            "SMS:               {n}, last used {}",
            when(s.sms_last_used)
        ))?,
        None => out.line("SMS:               not enrolled")?,
    }
    out.line(format!(
        "recovery codes:    {} unused",
        s.recovery_remaining
    ))?;
    match s.locked_until {
        Some(until) => out.line(format!("locked:            until {until}"))?,
        None => out.line("locked:            no")?,
    }
    out.line(format!("recent failures:   {}", s.recent_failures))?;
    if let Some(by) = s.enroll_by {
        out.line(format!("enroll by:         {by}"))?;
    }
    out.line(format!("last MFA:          {}", when(s.last_mfa)))
}

pub fn recovery_codes(
    host: &Host,
    out: &mut Out<'_>,
    user: Option<String>,
    regenerate: bool,
) -> CliResult<()> {
    let user = user_or_invoker(user)?;
    let policy = host.policy()?;
    let key = host
        .seal_key()
        .map_err(|e| e.with_permission_hint(NOT_ADMIN_HINT))?;
    if regenerate {
        let codes = host
            .with_engine(&policy, &key, None, |engine| {
                Ok(engine.regenerate_recovery(&user, now(), &mut OsRandom::new())?)
            })
            .map_err(|e| e.with_permission_hint(NOT_ADMIN_HINT))?;
        if out.json {
            let list: Vec<&str> = codes.iter().map(|c| c.expose()).collect();
            return out.json(&serde_json::json!({ "user": user, "recovery_codes": list }));
        }
        out.line(format!(
            "New recovery codes for {user}; the old ones no longer work."
        ))?;
        return print_recovery_codes(out, &user, &codes);
    }
    let status = host
        .with_engine(&policy, &key, None, |engine| {
            Ok(engine.status(&user, now())?)
        })
        .map_err(|e| e.with_permission_hint(NOT_ADMIN_HINT))?;
    if out.json {
        return out
            .json(&serde_json::json!({ "user": user, "remaining": status.recovery_remaining }));
    }
    out.line(format!(
        "{user} has {} unused recovery codes.",
        status.recovery_remaining
    ))?;
    if status.enrolled && status.recovery_remaining <= 2 {
        out.line("Make a fresh set with `planasonix recovery-codes --regenerate`.")?;
    }
    Ok(())
}
