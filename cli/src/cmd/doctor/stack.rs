//! Whether a service's auth (or account) stack really runs pam_planasonix.so
//! and lets its answer count, with the line to change when it does not.

use super::pam_eval::{endings, is_mfa, Ending, Mfa};
use super::pam_load::{Op, Origin, Problem, Stack};
use super::pam_parse::{module_name, Action, Stage};
use super::report::{quoted, shown, Finding, Severity};

/// Modules that succeed only for some users: skipping the second factor
/// after them is an exemption, not a hole for everyone.
const CONDITIONAL: &[&str] = &[
    "pam_succeed_if.so",
    "pam_localuser.so",
    "pam_usertype.so",
    "pam_access.so",
    "pam_listfile.so",
    "pam_wheel.so",
    "pam_time.so",
    "pam_exec.so",
];

/// Modules that check a password.
const PASSWORD: &[&str] = &[
    "pam_unix.so",
    "pam_sss.so",
    "pam_ldap.so",
    "pam_krb5.so",
    "pam_winbind.so",
];

/// What one stage's stack does with the second factor.
#[derive(Debug, Default)]
pub struct StageCheck {
    pub findings: Vec<Finding>,
    /// pam_planasonix.so is in the stack.
    pub present: bool,
    /// Present, reached on every way to success, and its failure counts.
    pub sound: bool,
    /// A password module is in the stack.
    pub asks_password: bool,
    /// The `action=` argument of the module, if any.
    pub step_up: Option<String>,
}

/// Where `origin` is, for a message.
pub fn place(dir: &str, origin: &Origin) -> String {
    format!("{}:{}", shown(&path(dir, &origin.file)), origin.line)
}

/// A file named in a PAM file, as a path.
pub fn path(dir: &str, file: &str) -> String {
    if file.starts_with('/') {
        file.to_owned()
    } else {
        format!("{}/{file}", dir.trim_end_matches('/'))
    }
}

/// Checks `stack`, the `stage` stack of `service`. When `primary` is false
/// (an account line that is only a safety net) problems are information.
pub fn check(stack: &Stack, stage: Stage, service: &str, dir: &str, primary: bool) -> StageCheck {
    let mfa: Vec<&Op> = stack.ops.iter().filter(|o| is_mfa(o)).collect();
    let mut check = StageCheck {
        present: !mfa.is_empty(),
        asks_password: stack
            .ops
            .iter()
            .any(|o| PASSWORD.contains(&module_name(&o.module))),
        step_up: mfa
            .iter()
            .flat_map(|o| &o.args)
            .find_map(|a| a.strip_prefix("action="))
            .map(str::to_owned),
        ..StageCheck::default()
    };
    if mfa.is_empty() {
        return check;
    }
    let ends = endings(&stack.ops);
    let mut found = Vec::new();
    if !ends.iter().any(|e| e.success) {
        found.push(Finding::new(
            Severity::Critical,
            format!("no way through the {} stack of {service} succeeds: every such login is refused", stage.name()),
            Some("check the order of the lines: a jump such as [success=1] may now land on pam_deny.so".into()),
        ));
    }
    let mut causes: Vec<Option<usize>> = Vec::new();
    for e in ends.iter().filter(|e| e.success && e.mfa == Mfa::NotRun) {
        if !causes.contains(&e.skipped_by) {
            causes.push(e.skipped_by);
        }
    }
    causes.sort();
    for cause in causes {
        found.push(skipped(stack, stage, cause, &mfa, dir));
    }
    if ends
        .iter()
        .any(|e: &Ending| e.success && e.mfa == Mfa::Failed)
    {
        for op in mfa.iter().filter(|o| !o.actions.failure_counts()) {
            found.push(Finding::new(
                Severity::Critical,
                format!(
                    "{} ({}) does not stop a login when the code is wrong: its control lets a failure pass",
                    quoted(&op.origin.text),
                    place(dir, &op.origin)
                ),
                Some(format!("use `{} required pam_planasonix.so` (or requisite)", stage.name())),
            ));
        }
    }
    check.sound = !found.iter().any(|f| f.severity >= Severity::Warning);
    for op in mfa.iter().filter(|o| o.quiet) {
        found.push(Finding::new(
            Severity::Info,
            format!(
                "{} ({}) starts with `-`: if the module is not installed the line is skipped without a word",
                quoted(&op.origin.text),
                place(dir, &op.origin)
            ),
            Some("drop the leading `-` so a missing module fails closed".into()),
        ));
    }
    if !primary {
        for f in &mut found {
            f.severity = Severity::Info;
        }
    }
    if check.sound {
        let op = mfa[0];
        found.push(Finding::new(
            Severity::Info,
            format!(
                "the {} stack runs pam_planasonix.so at {}",
                stage.name(),
                place(dir, &op.origin)
            ),
            None,
        ));
    }
    check.findings = found;
    check
}

/// Why a successful path never ran the module.
fn skipped(stack: &Stack, stage: Stage, cause: Option<usize>, mfa: &[&Op], dir: &str) -> Finding {
    let Some(op) = cause.map(|i| &stack.ops[i]) else {
        return Finding::new(
            Severity::Critical,
            format!(
                "some successful {} paths never reach pam_planasonix.so",
                stage.name()
            ),
            Some(format!(
                "put `{} required pam_planasonix.so` after the other {0} lines",
                stage.name()
            )),
        );
    };
    let line = format!("{} ({})", quoted(&op.origin.text), place(dir, &op.origin));
    let how = match op.actions.success {
        Action::Jump(n) => format!("jumps over pam_planasonix.so when it succeeds ([success={n}])"),
        _ => format!(
            "ends the {} stack with success before pam_planasonix.so is reached",
            stage.name()
        ),
    };
    let name = module_name(&op.module);
    if name == "pam_rootok.so" {
        let message = format!(
            "{line} lets root through without a code (usual for su: root needs no password either)"
        );
        return Finding::new(Severity::Info, message, None);
    }
    if CONDITIONAL.contains(&name) {
        return Finding::new(
            Severity::Warning,
            format!("{line} {how}: the users it matches skip the second factor"),
            Some("keep it if that exemption is intended; otherwise remove it or move pam_planasonix.so above it".into()),
        );
    }
    // An `include` is where a `sufficient` meant for that file ends this stack too.
    let include = op
        .via
        .iter()
        .rev()
        .find(|(o, sub)| !sub && !mfa.iter().any(|m| m.via.iter().any(|(v, _)| v == o)));
    let fix = match include {
        Some((o, _)) => format!(
            "use `{} substack {}` in place of {} ({}), so that file's successes end only its own part",
            stage.name(),
            shown(o.text.split_whitespace().last().unwrap_or("")),
            quoted(&o.text),
            place(dir, o)
        ),
        None => match op.actions.success {
            Action::Jump(_) => "put pam_planasonix.so after the line the jump lands on".into(),
            _ => format!("move the pam_planasonix.so line above {}, or make that line `required`", quoted(&op.origin.text)),
        },
    };
    let message = format!(
        "{line} {how}: whoever passes it (with a password alone, say) is never asked for a code"
    );
    Finding::new(Severity::Critical, message, Some(fix))
}

/// The problems met reading the files, as findings.
pub fn problems(problems: &[Problem], dir: &str) -> Vec<Finding> {
    problems
        .iter()
        .map(|p| {
            let (message, fix) = match p {
                Problem::Missing { from, file, fails } => (
                    format!(
                        "{} ({}) includes {}, which does not exist: {}",
                        quoted(&from.text),
                        place(dir, from),
                        quoted(&path(dir, file)),
                        if *fails {
                            "libpam puts a line that always fails in its place, so these logins are refused"
                        } else {
                            "the lines it should add are missing"
                        }
                    ),
                    format!("create {} or remove that line", shown(&path(dir, file))),
                ),
                Problem::Loop { from, file } => (
                    format!("{} ({}) includes {} again from inside itself (an include loop)", quoted(&from.text), place(dir, from), quoted(file)),
                    "remove the include that leads back".into(),
                ),
                Problem::TooLarge { file } => (
                    format!("{} is too large to be a PAM file and was not read", quoted(&path(dir, file))),
                    "check what that file is".into(),
                ),
                Problem::Unreadable { file, why } => (
                    format!("cannot read {}: {}", quoted(&path(dir, file)), shown(why)),
                    "run planasonix doctor as root".into(),
                ),
                Problem::TooDeep { from } => (
                    format!("includes nest too deep at {}", place(dir, from)),
                    "flatten the includes".into(),
                ),
                Problem::Invalid { at, why } => (
                    format!("libpam rejects {} ({}): {}", quoted(&at.text), place(dir, at), shown(&why.to_string())),
                    "correct or remove that line".into(),
                ),
            };
            Finding::new(Severity::Warning, message, Some(fix))
        })
        .collect()
}
