//! `planasonix status` and `planasonix recovery-codes`.

use crate::deployment::Deployment;
use crate::error::CliResult;
use crate::out::Out;
use crate::shared::{
    factor_list, json_value, print_recovery_codes, recovery_codes_json, user_or_invoker,
    NOT_ADMIN_HINT,
};
use planasonix_core::text::Field;
use planasonix_core::{UnixTime, UserStatus};
use planasonix_native::{now, OsRandom};

pub fn status(deployment: &Deployment, out: &mut Out<'_>, user: Option<String>) -> CliResult<()> {
    let user = user_or_invoker(user)?;
    let policy = deployment.policy()?;
    let key = deployment
        .seal_key()
        .map_err(|e| e.with_permission_hint(NOT_ADMIN_HINT))?;
    let status = deployment
        .with_engine(&policy, &key, None, |engine| {
            Ok(engine.status(&user, now())?)
        })
        .map_err(|e| e.with_permission_hint(NOT_ADMIN_HINT))?;
    if out.json {
        return out.json(&json_value(&status)?);
    }
    print_status(out, &status)
}

fn when(t: Option<UnixTime>) -> String {
    t.map_or_else(|| "never".to_owned(), |t| t.to_string())
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
    for p in &s.passkeys {
        let cloned = p
            .cloned_at
            .map(|t| {
                format!(", REFUSED since {t}: its counter went back (possibly cloned); remove it")
            })
            .unwrap_or_default();
        out.line(format!(
            "passkey:           {} (model {}), since {}, last used {}{}{cloned}",
            Field(&p.name),
            p.aaguid,
            p.since,
            when(p.last_used),
            if p.backup_eligible { ", synced" } else { "" },
        ))?;
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
    for lock in &s.remote_locks {
        out.line(format!(
            "locked from:       {} until {}",
            lock.remote
                .as_deref()
                .map_or("local logins".to_owned(), |r| Field(r).to_string()),
            lock.until
        ))?;
    }
    out.line(format!("recent failures:   {}", s.recent_failures))?;
    if let Some(by) = s.enroll_by {
        out.line(format!("enroll by:         {by}"))?;
    }
    out.line(format!("last MFA:          {}", when(s.last_mfa)))
}

pub fn recovery_codes(
    deployment: &Deployment,
    out: &mut Out<'_>,
    user: Option<String>,
    regenerate: bool,
) -> CliResult<()> {
    let user = user_or_invoker(user)?;
    let policy = deployment.policy()?;
    let key = deployment
        .seal_key()
        .map_err(|e| e.with_permission_hint(NOT_ADMIN_HINT))?;
    if regenerate {
        let codes = deployment
            .with_engine(&policy, &key, None, |engine| {
                Ok(engine.regenerate_recovery(&user, now(), &mut OsRandom::new())?)
            })
            .map_err(|e| e.with_permission_hint(NOT_ADMIN_HINT))?;
        if out.json {
            return out.json(&recovery_codes_json(&user, &codes));
        }
        out.line(format!(
            "New recovery codes for {user}; the old ones no longer work."
        ))?;
        return print_recovery_codes(out, &user, &codes);
    }
    let status = deployment
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
