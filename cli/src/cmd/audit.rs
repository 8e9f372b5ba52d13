//! `planasonix audit`: the bounded audit log: this host's trail file, or on a
//! shared store the whole fleet's, each event naming its host.

use crate::deployment::Deployment;
use crate::error::CliResult;
use crate::out::Out;
use crate::shared::json_value;
use planasonix_core::audit::Level;
use planasonix_native::now;
use std::time::Duration;

pub fn run(
    deployment: &Deployment,
    out: &mut Out<'_>,
    user: Option<String>,
    since: Option<Duration>,
    host: Option<&str>,
) -> CliResult<()> {
    let policy = deployment.policy()?;
    let key = deployment.seal_key()?;
    let from = since.map(|d| now().minus(d));
    let mut events = deployment.with_engine(&policy, &key, None, |engine| {
        Ok(engine.audit_log(user.as_deref(), from)?)
    })?;
    if let Some(host) = host {
        events.retain(|e| e.host.as_deref() == Some(host));
    }
    if out.json {
        let mut list = Vec::with_capacity(events.len());
        for e in &events {
            let mut v = json_value(e)?;
            v["time"] = serde_json::json!(e.at.to_string());
            v["level"] = serde_json::json!(level(e.level()));
            list.push(v);
        }
        return out.json(&serde_json::Value::Array(list));
    }
    for e in &events {
        out.line(format!("{}  {:<7}  {e}", e.at, level(e.level())))?;
    }
    Ok(())
}

fn level(l: Level) -> &'static str {
    match l {
        Level::Info => "info",
        Level::Notice => "notice",
        Level::Warning => "warning",
        Level::Error => "error",
    }
}
