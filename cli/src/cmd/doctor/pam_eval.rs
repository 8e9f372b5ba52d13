//! Every way a flattened stack can end, found by running it the way libpam's
//! dispatcher does with each module returning, in turn, success, `PAM_IGNORE`
//! or a failure. Only the outcome and whether pam_planasonix.so ran (and
//! what it returned) are kept, so the number of states stays small.

use super::pam_load::Op;
use super::pam_parse::{module_name, Action};
use std::collections::HashSet;

/// What a module may return, reduced.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Ret {
    Success,
    Ignore,
    Failure,
}

/// libpam's "impression" of the stack so far.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Impression {
    Undecided,
    Success,
    /// Positive, but with a failure status (an `ok` on a failure).
    PositiveFailure,
    Failed,
}

/// What the second factor did on a path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mfa {
    NotRun,
    Passed,
    /// Out of the policy's scope (PAM_IGNORE).
    Ignored,
    Failed,
}

/// One way the stack can end.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Ending {
    pub success: bool,
    pub mfa: Mfa,
    /// The op whose `done` or jump first skipped a pam_planasonix.so line.
    pub skipped_by: Option<usize>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct State {
    pc: usize,
    impression: Impression,
    /// The impression at the start of each open substack, for `reset`.
    saved: Vec<Impression>,
    mfa: Mfa,
    skipped_by: Option<usize>,
}

/// Whether `op` is the second factor.
pub fn is_mfa(op: &Op) -> bool {
    !op.must_fail && module_name(&op.module) == "pam_planasonix.so"
}

fn returns(op: &Op) -> &'static [Ret] {
    if op.must_fail {
        return &[Ret::Failure];
    }
    match module_name(&op.module) {
        "pam_deny.so" => &[Ret::Failure],
        "pam_permit.so" => &[Ret::Success],
        _ => &[Ret::Success, Ret::Ignore, Ret::Failure],
    }
}

/// Every distinct ending of `ops`.
pub fn endings(ops: &[Op]) -> Vec<Ending> {
    let mut seen = HashSet::new();
    let mut todo = vec![State {
        pc: 0,
        impression: Impression::Undecided,
        saved: vec![Impression::Undecided; depth(ops) + 1],
        mfa: Mfa::NotRun,
        skipped_by: None,
    }];
    let mut ends = Vec::new();
    while let Some(state) = todo.pop() {
        if !seen.insert(state.clone()) {
            continue;
        }
        let Some(op) = ops.get(state.pc) else {
            let end = Ending {
                success: state.impression == Impression::Success,
                mfa: state.mfa,
                skipped_by: state.skipped_by,
            };
            if !ends.contains(&end) {
                ends.push(end);
            }
            continue;
        };
        for ret in returns(op) {
            let actions = match ret {
                Ret::Success => vec![op.actions.success],
                Ret::Ignore => vec![op.actions.ignore],
                Ret::Failure => op.actions.failure.clone(),
            };
            for action in actions {
                todo.push(step(ops, &state, *ret, action));
            }
        }
    }
    ends
}

fn depth(ops: &[Op]) -> usize {
    ops.iter().map(|o| o.level).max().unwrap_or(0)
}

fn step(ops: &[Op], state: &State, ret: Ret, action: Action) -> State {
    let i = state.pc;
    let op = &ops[i];
    let mut next = state.clone();
    if is_mfa(op) {
        next.mfa = match (state.mfa, ret) {
            (Mfa::Failed, _) | (_, Ret::Failure) => Mfa::Failed,
            (Mfa::Passed, _) | (_, Ret::Success) => Mfa::Passed,
            _ => Mfa::Ignored,
        };
    }
    let mut last = i;
    match action {
        Action::Ignore => {}
        Action::Reset => next.impression = state.saved[op.level],
        Action::Ok | Action::Done => {
            let fresh = matches!(
                state.impression,
                Impression::Undecided | Impression::Success
            );
            if fresh && ret != Ret::Ignore {
                next.impression = match ret {
                    Ret::Success => Impression::Success,
                    _ => Impression::PositiveFailure,
                };
            }
            if action == Action::Done && next.impression != Impression::Failed {
                last = frame_end(ops, i);
            }
        }
        Action::Bad | Action::Die => {
            next.impression = Impression::Failed;
            if action == Action::Die {
                last = frame_end(ops, i);
            }
        }
        Action::Jump(n) => last = jump_end(ops, i, n),
    }
    if next.skipped_by.is_none() && next.mfa == Mfa::NotRun && ops[i + 1..=last].iter().any(is_mfa)
    {
        next.skipped_by = Some(i);
    }
    next.pc = last + 1;
    // Entering substacks: remember where each began.
    if let Some(target) = ops.get(next.pc) {
        for level in op.level + 1..=target.level {
            next.saved[level] = next.impression;
        }
    }
    next
}

/// The last op of the (sub)stack `i` is in.
fn frame_end(ops: &[Op], i: usize) -> usize {
    let level = ops[i].level;
    let mut pos = i;
    while pos + 1 < ops.len() && ops[pos + 1].level >= level {
        pos += 1;
    }
    pos
}

/// The last op skipped by a jump of `n` from `i`; a substack counts as one.
fn jump_end(ops: &[Op], i: usize, n: u32) -> usize {
    let level = ops[i].level;
    let mut pos = i;
    let mut n = n;
    while n > 0 && pos + 1 < ops.len() && ops[pos + 1].level >= level {
        pos += 1;
        while pos + 1 < ops.len() && ops[pos + 1].level > level {
            pos += 1;
        }
        n -= 1;
    }
    pos
}

#[cfg(test)]
mod tests {
    use super::super::pam_load::{flatten, Read};
    use super::super::pam_parse::{Joining, Stage};
    use super::*;

    fn ends(service: &str, other: &str) -> Vec<Ending> {
        let (service, other) = (service.to_owned(), other.to_owned());
        let mut read = move |name: &str| match name {
            "svc" => Read::Text(service.clone()),
            "other-file" => Read::Text(other.clone()),
            _ => Read::Missing,
        };
        endings(&flatten("svc", Stage::Auth, Joining::Ends, &mut read).ops)
    }

    fn bypassed(e: &[Ending]) -> bool {
        e.iter().any(|e| e.success && e.mfa == Mfa::NotRun)
    }

    const DEBIAN: &str = "auth [success=1 default=ignore] pam_unix.so nullok\n\
        auth requisite pam_deny.so\nauth required pam_permit.so\n";

    #[test]
    fn debian_common_auth_with_the_profile_reaches_the_module() {
        let e = ends(&format!("{DEBIAN}auth required pam_planasonix.so\n"), "");
        assert!(!bypassed(&e));
        assert!(e.iter().any(|e| e.success && e.mfa == Mfa::Passed));
        assert!(!e.iter().any(|e| e.success && e.mfa == Mfa::Failed));
    }

    #[test]
    fn a_jump_over_the_module_is_found() {
        let text = "auth [success=2 default=ignore] pam_unix.so\nauth requisite pam_deny.so\n\
            auth required pam_planasonix.so\nauth required pam_permit.so\n";
        let e = ends(text, "");
        assert!(e.iter().any(|e| e.success && e.skipped_by == Some(0)));
    }

    #[test]
    fn sufficient_ends_an_include_but_not_a_substack() {
        let other = "auth sufficient pam_unix.so\nauth required pam_deny.so\n";
        let e = ends(
            "auth include other-file\nauth required pam_planasonix.so\n",
            other,
        );
        assert!(e.iter().any(|e| e.success && e.skipped_by == Some(0)));
        let e = ends(
            "auth substack other-file\nauth required pam_planasonix.so\n",
            other,
        );
        assert!(!bypassed(&e));
        assert!(e.iter().any(|e| e.success && e.mfa == Mfa::Passed));
    }

    #[test]
    fn weak_controls_let_a_failed_code_through() {
        let e = ends(&format!("{DEBIAN}auth optional pam_planasonix.so\n"), "");
        assert!(e.iter().any(|e| e.success && e.mfa == Mfa::Failed));
        let e = ends(
            &format!("{DEBIAN}auth [success=ok default=bad] pam_planasonix.so\n"),
            "",
        );
        assert!(!e.iter().any(|e| e.success && e.mfa == Mfa::Failed));
    }

    #[test]
    fn a_stack_of_nothing_but_ignores_fails() {
        let e = ends("auth optional pam_x.so\n", "");
        assert!(e.iter().all(|e| !e.success || e.mfa == Mfa::NotRun));
        assert!(e.iter().any(|e| !e.success));
    }
}
