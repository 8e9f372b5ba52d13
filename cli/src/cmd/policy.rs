//! `planasonix policy check|explain`.

use crate::deployment::Deployment;
use crate::error::CliResult;
use crate::out::Out;
use crate::shared::{factor_list, json_value, read_policy};
use planasonix_core::record::user_key;
use planasonix_core::store::Store;
use planasonix_core::{
    Context, Decision, Denied, Engine, MemoryStore, Mode, NotRequired, Policy, Subject,
};
use planasonix_native::now;
use std::path::PathBuf;

pub fn check(deployment: &Deployment, out: &mut Out<'_>, file: Option<PathBuf>) -> CliResult<()> {
    let path = file.unwrap_or_else(|| deployment.config.clone());
    let policy = read_policy(&path)?;
    if out.json {
        return out.json(&json_value(&policy)?);
    }
    out.line(format!(
        "# {} is valid. Effective policy (defaults filled in):",
        path.display()
    ))?;
    out.line(policy.to_toml().trim_end())
}

pub fn explain(
    deployment: &Deployment,
    out: &mut Out<'_>,
    user: &str,
    groups: Vec<String>,
    action: Option<String>,
    amr: Vec<String>,
    service: String,
) -> CliResult<()> {
    let policy = deployment.policy()?;
    let key = deployment.seal_key()?;
    // `decide` records first sightings and audits; explaining must change
    // nothing, so it runs on a copy of the user's record in memory.
    let record = deployment.with_store(|store| Ok(store.get(&user_key(user))?))?;
    let copy = MemoryStore::new();
    if let Some(v) = &record {
        copy.compare_and_swap(&user_key(user), None, Some(&v.value))?;
    }
    let engine = Engine::new(&policy, &key, &copy);
    let subject = Subject {
        user: user.to_owned(),
        groups: groups.into_iter().filter(|g| !g.is_empty()).collect(),
        amr: amr.into_iter().filter(|a| !a.is_empty()).collect(),
    };
    let ctx = Context {
        service,
        remote: None,
        action,
        session: None,
    };
    let at = now();
    let decision = engine.decide(&subject, &ctx, at)?;
    let (kind, summary, why) = describe(&policy, &subject, &ctx, &decision, record.is_none());
    if out.json {
        let mut v = serde_json::json!({
            "user": user,
            "decision": kind,
            "summary": summary,
            "why": why,
            "mode": policy.enforcement.mode,
            "admin": policy.is_admin(&subject.groups),
        });
        match &decision {
            Decision::Required { factors, step_up } => {
                v["factors"] = serde_json::json!(factors);
                v["step_up"] = serde_json::json!(step_up);
            }
            Decision::Grace {
                deadline,
                may_enroll_now,
            } => {
                v["deadline"] = serde_json::json!(deadline);
                v["may_enroll_now"] = serde_json::json!(may_enroll_now);
            }
            Decision::Denied(Denied::EnrollmentOverdue { deadline }) => {
                v["deadline"] = serde_json::json!(deadline)
            }
            Decision::Denied(Denied::LockedOut { until }) => {
                v["locked_until"] = serde_json::json!(until)
            }
            _ => {}
        }
        return out.json(&v);
    }
    out.line(format!("{user}: {summary}"))?;
    out.line(format!("why: {why}"))
}

/// (machine word, one-line answer, reason) for a decision.
fn describe(
    policy: &Policy,
    subject: &Subject,
    ctx: &Context,
    decision: &Decision,
    never_seen: bool,
) -> (&'static str, String, String) {
    let user = &subject.user;
    let mode = match policy.enforcement.mode {
        Mode::Optional => "optional",
        Mode::RequiredForAdmins => "required-for-admins",
        Mode::RequiredForAll => "required-for-all",
    };
    match decision {
        Decision::NotRequired(why) => {
            let reason = match why {
                NotRequired::OutOfScope if policy.enforcement.mode == Mode::Optional => {
                    format!("the policy mode is `optional` and {user} has not enrolled (PAM answers PAM_IGNORE)")
                }
                NotRequired::OutOfScope => format!(
                    "the policy mode is `{mode}` and {user} is in none of the admin groups ({}); not enrolled (PAM answers PAM_IGNORE)",
                    policy.enforcement.admin_groups.join(", ")
                ),
                NotRequired::Exempt => format!(
                    "{user} is listed in enforcement.exempt_users (break-glass); every such login is logged at warning level"
                ),
                NotRequired::UpstreamMfa => format!(
                    "the identity provider already did MFA (amr {} is in enforcement.trusted_amr)",
                    subject.amr.join(",")
                ),
                NotRequired::Remembered { at } => format!("MFA passed at {at} for this service and host ([remember])"),
                NotRequired::RecentMfa { at } => format!(
                    "step-up action `{}` accepts the MFA passed at {at}",
                    ctx.action.as_deref().unwrap_or("")
                ),
            };
            (
                "not-required",
                "no second factor is asked for".into(),
                reason,
            )
        }
        Decision::Grace {
            deadline,
            may_enroll_now,
        } => {
            let start = if never_seen {
                "the grace period starts at their first login under this policy"
            } else {
                "the grace period is running"
            };
            let offer = if *may_enroll_now {
                "enrollment is offered at the login prompt"
            } else {
                "enroll with `planasonix enroll totp`"
            };
            (
                "grace",
                format!("may log in without a second factor until {deadline}, with a reminder"),
                format!(
                    "the policy mode is `{mode}` and {user} has not enrolled; {start}; {offer}"
                ),
            )
        }
        Decision::Required { factors, step_up } => {
            let reason = match step_up {
                Some(action) => format!(
                    "step-up action `{action}` needs an MFA no older than its [step_up] age, and there is none"
                ),
                None => format!("{user} has enrolled ({})", factor_list(factors)),
            };
            (
                "required",
                format!("a code is required: {}", factor_list(factors)),
                reason,
            )
        }
        Decision::Denied(d) => {
            let reason = match d {
                Denied::EnrollmentOverdue { deadline } => {
                    format!("MFA is required (mode `{mode}`) and the enrollment deadline {deadline} has passed; an admin reset opens a new window")
                }
                Denied::LockedOut { until } => {
                    format!("too many wrong codes: locked until {until} (`planasonix admin unlock {user}` lifts it)")
                }
                Denied::NoUsableFactor => {
                    "enrolled, but no factor is usable under this policy (e.g. only SMS, now disabled)".into()
                }
                Denied::NoPhishingResistantFactor => {
                    "the action requires a phishing-resistant factor (a passkey) and the user has none".into()
                }
            };
            ("denied", "login is refused".into(), reason)
        }
    }
}
