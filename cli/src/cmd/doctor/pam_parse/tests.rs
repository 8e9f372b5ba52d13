//! The parser against lines as distributions ship them, and broken ones.

use super::*;

/// The one logical line of `text`, which every libpam reads alike.
fn only(text: &str) -> Line {
    let mut lines = parse(text, Joining::Ends);
    assert_eq!(lines, parse(text, Joining::Skips), "the readings differ");
    assert_eq!(readings_differ(text), None);
    assert_eq!(lines.len(), 1, "{lines:?}");
    lines.remove(0)
}

/// The logical lines' texts as `joining` reads `text`.
fn texts(text: &str, joining: Joining) -> Vec<String> {
    parse(text, joining).into_iter().map(|l| l.text).collect()
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
    for (line, why) in [
        ("auth required", LineError::TooFewFields),
        (
            "autth required x.so",
            LineError::UnknownType("autth".into()),
        ),
        (
            "-autth required x.so",
            LineError::UnknownType("-autth".into()),
        ),
        (
            "auth [success=maybe] x.so",
            LineError::UnknownAction("maybe".into()),
        ),
        (
            "auth [success] x.so",
            LineError::NotValueAction("success".into()),
        ),
        (
            "auth [success=0] x.so",
            LineError::UnknownAction("0".into()),
        ),
        (
            "auth sometimes x.so",
            LineError::UnknownControl("sometimes".into()),
        ),
        ("@include", LineError::IncludeWithoutFile),
    ] {
        assert_eq!(only(line).entry, Entry::Invalid(why), "{line}");
    }
    assert_eq!(
        parse("auth required a.so \\", Joining::Ends)
            .last()
            .map(|l| l.entry.clone()),
        Some(Entry::Invalid(LineError::EndsInContinuation))
    );
    // A comment ends the line before a trailing backslash is seen.
    assert_eq!(
        parse("auth required a.so # \\\nauth required b.so", Joining::Ends).len(),
        2
    );
}

/// Line assembly as Linux-PAM's source does it (1.5: `_pam_assemble_line`
/// in pam_handlers.c; 1.6 and newer: `_pam_line_assemble`), each case also
/// run through real libpam by pam-module/tests/doctor_libpam.rs.
#[test]
fn continuations_as_libpam_joins_them() {
    for joining in [Joining::Skips, Joining::Ends] {
        // A `\` before a `#`: the comment ends the line, the `\` stays.
        assert_eq!(
            texts(
                "auth requisite a.so \\ # why\nauth sufficient b.so\n",
                joining
            ),
            ["auth requisite a.so \\", "auth sufficient b.so"]
        );
        // A comment after a `\` on the same line: no continuation either.
        assert_eq!(
            texts("auth required a.so # \\\nauth required b.so\n", joining),
            ["auth required a.so", "auth required b.so"]
        );
        // Trailing blanks after the `\` still continue.
        assert_eq!(
            texts("auth required \\ \t\n  a.so x\n", joining),
            ["auth required a.so x"]
        );
        // A carriage return is no blank to libpam: no continuation.
        assert_eq!(texts("auth required a.so \\\r\nb\n", joining).len(), 2);
        // A file that ends inside a continuation fails.
        let last = parse("auth required a.so\nauth required \\\n", joining);
        assert!(
            matches!(last.last().unwrap().entry, Entry::Invalid(_)),
            "{last:?}"
        );
    }
    // A comment line inside a continuation: 1.5 skips it and goes on, so
    // the next rule becomes arguments; 1.6 ends the rule there.
    let text =
        "auth [success=done default=ignore] a.so \\\n# then MFA\nauth required pam_planasonix.so\n";
    assert_eq!(
        texts(text, Joining::Skips),
        ["auth [success=done default=ignore] a.so auth required pam_planasonix.so"]
    );
    assert_eq!(
        texts(text, Joining::Ends),
        [
            "auth [success=done default=ignore] a.so",
            "auth required pam_planasonix.so"
        ]
    );
    assert_eq!(readings_differ(text), Some(2));
    // A blank line likewise.
    let blank = text.replace("# then MFA", "");
    assert_eq!(texts(&blank, Joining::Skips).len(), 1);
    assert_eq!(texts(&blank, Joining::Ends).len(), 2);
    assert_eq!(readings_differ(&blank), Some(2));
    // Outside a continuation, comment and blank lines are nothing to both.
    assert_eq!(readings_differ("# c\n\nauth required a.so\n"), None);
}
