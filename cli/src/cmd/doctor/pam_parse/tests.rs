//! The parser against lines as distributions ship them, and broken ones.

use super::*;

fn only(text: &str) -> Line {
    let mut lines = parse(text);
    assert_eq!(lines.len(), 1, "{lines:?}");
    lines.remove(0)
}

#[test]
fn keywords_and_comments() {
    let line = only("# comment\n\nauth  required\tpam_planasonix.so action=sudo # why\n");
    assert_eq!(line.number, 3);
    assert_eq!(line.text, "auth required pam_planasonix.so action=sudo");
    let Entry::Rule {
        stage,
        control: Control::Module(actions),
        args,
        ..
    } = line.entry
    else {
        panic!("not a module rule")
    };
    assert_eq!(stage, Stage::Auth);
    assert!(actions.failure_counts());
    assert_eq!(args, vec!["action=sudo"]);
    let Entry::Rule {
        control: Control::Module(a),
        ..
    } = only("auth sufficient pam_unix.so").entry
    else {
        panic!()
    };
    assert_eq!(a.success, Action::Done);
    assert!(!a.failure_counts());
}

#[test]
fn brackets_continuations_and_dash() {
    let line = only("-auth [success=2 \\\n default=ignore] /lib/security/pam_unix.so nullok\n");
    assert_eq!(line.number, 1);
    let Entry::Rule {
        quiet,
        control: Control::Module(a),
        target,
        ..
    } = line.entry
    else {
        panic!()
    };
    assert!(quiet);
    assert_eq!(a.success, Action::Jump(2));
    assert_eq!(a.failure, vec![Action::Ignore]);
    assert_eq!(module_name(&target), "pam_unix.so");
    // Without `default`, unlisted values are `bad`.
    let Entry::Rule {
        control: Control::Module(a),
        ..
    } = only("auth [success=ok ignore=ignore] pam_x.so").entry
    else {
        panic!()
    };
    assert!(a.failure_counts());
}

#[test]
fn includes_and_invalid_lines() {
    assert_eq!(
        only("@include common-auth").entry,
        Entry::AtInclude("common-auth".into())
    );
    assert!(matches!(
        only("auth substack password-auth").entry,
        Entry::Rule {
            control: Control::Substack,
            ..
        }
    ));
    assert!(matches!(only("auth required").entry, Entry::Invalid(_)));
    assert!(matches!(
        only("autth required x.so").entry,
        Entry::Invalid(_)
    ));
    assert!(matches!(
        only("auth [success=maybe] x.so").entry,
        Entry::Invalid(_)
    ));
    assert!(matches!(
        only("auth sometimes x.so").entry,
        Entry::Invalid(_)
    ));
    // A comment ends the line before a trailing backslash is seen.
    assert_eq!(
        parse("auth required a.so # \\\nauth required b.so").len(),
        2
    );
}
