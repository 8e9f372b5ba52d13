//! Snapshot tests of help output and error messages, compared as plain text
//! with files under `tests/snapshots/`. After an intended change, regenerate
//! with `UPDATE_SNAPSHOTS=1 cargo test -p planasonix --test integration help::` and review
//! the diff.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Test code: a failed step is a failed test.

use crate::common::*;
use std::path::PathBuf;

fn snapshot_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots")
        .join(format!("{name}.txt"))
}

fn check_snapshot(name: &str, actual: &str) {
    let path = snapshot_path(name);
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "snapshot {} is missing; create it with UPDATE_SNAPSHOTS=1",
            path.display()
        )
    });
    assert!(
        expected == actual,
        "output differs from {} (UPDATE_SNAPSHOTS=1 to accept):\n--- expected\n{expected}\n--- actual\n{actual}",
        path.display()
    );
}

#[test]
fn help_output() {
    let host = Layout::empty("help");
    for (name, args) in [
        ("help", vec!["--help"]),
        ("help-init", vec!["init", "--help"]),
        ("help-enroll", vec!["enroll", "--help"]),
        ("help-enroll-totp", vec!["enroll", "totp", "--help"]),
        ("help-enroll-sms", vec!["enroll", "sms", "--help"]),
        ("help-recovery-codes", vec!["recovery-codes", "--help"]),
        ("help-status", vec!["status", "--help"]),
        ("help-admin", vec!["admin", "--help"]),
        (
            "help-admin-provision-totp",
            vec!["admin", "provision-totp", "--help"],
        ),
        ("help-admin-reset", vec!["admin", "reset", "--help"]),
        ("help-import", vec!["import", "--help"]),
        ("help-policy", vec!["policy", "--help"]),
        ("help-policy-explain", vec!["policy", "explain", "--help"]),
        ("help-audit", vec!["audit", "--help"]),
        ("help-serve", vec!["serve", "--help"]),
        ("help-doctor", vec!["doctor", "--help"]),
    ] {
        // Without the global path options, so the defaults show.
        let mut cmd = std::process::Command::new(BIN);
        cmd.args(&args)
            .env_remove("PLANASONIX_SMS_COMMAND")
            .env_remove("PLANASONIX_NOTICE_COMMAND")
            .current_dir(&host.root);
        let out = run_with_stdin(&mut cmd, "");
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {}",
            text(&out.stderr)
        );
        assert!(out.stderr.is_empty());
        check_snapshot(name, &text(&out.stdout));
    }
}

#[test]
fn help_documents_exit_codes_and_sms_command() {
    let out = run_with_stdin(
        std::process::Command::new(BIN)
            .arg("--help")
            .env_remove("PLANASONIX_SMS_COMMAND"),
        "",
    );
    let help = text(&out.stdout);
    for needle in [
        "0  success",
        "2  usage error",
        "3  permission denied",
        "4  database busy",
    ] {
        assert!(help.contains(needle), "--help lacks {needle:?}");
    }
    let out = run_with_stdin(
        std::process::Command::new(BIN).args(["enroll", "sms", "--help"]),
        "",
    );
    let help = text(&out.stdout);
    assert!(help.contains("PLANASONIX_SMS_COMMAND"), "{help}");
    assert!(
        help.contains(
            "number as its one argument (or first line of stdin, see --sms-input), text on stdin"
        ),
        "{help}"
    );
}

#[test]
fn error_messages() {
    let host = Layout::init("messages");
    std::fs::create_dir_all(host.root.join("dir-key")).unwrap();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["status", "--user", "a b"], ""),
        (vec!["admin", "unlock", "-rf"], ""),
        (
            vec!["admin", "provision-totp", "bob", "--secret", "MZXW6YTBOI"],
            "",
        ),
        (
            vec!["admin", "provision-totp", "bob", "--secret", "-"],
            "0000\n",
        ),
        (
            vec!["admin", "provision-totp", "bob", "--secret", "-"],
            "MZXW6YTBOI\n",
        ),
        (vec!["admin", "reset", "bob", "--reason", "  "], ""),
        (
            vec!["enroll", "sms", "--user", "bob", "--phone", "+447700900123"],
            "",
        ),
        (
            vec!["enroll", "sms", "--user", "bob", "--phone", "-"],
            "12345\n",
        ),
        (
            vec!["enroll", "sms", "--user", "bob", "--phone", "-"],
            "+447700900123\n",
        ),
        (vec!["audit", "--since", "yesterday"], ""),
        (vec!["policy", "explain", "bob", "--action", "sudo"], ""),
        (vec!["recovery-codes", "--user", "bob", "--regenerate"], ""),
        (vec!["enroll", "totp", "--user", "bob"], "12345\n"),
        (vec!["enroll", "totp", "--user", "bob"], "abcdef\n"),
        (vec!["completions", "tcsh"], ""),
        (vec!["frobnicate"], ""),
        (vec![], ""),
    ];
    let mut transcript = String::new();
    for (args, stdin) in &cases {
        let out = host.run(args, stdin);
        let err = text(&out.stderr).replace(&host.root.display().to_string(), "ROOT");
        transcript.push_str(&format!(
            "$ planasonix {}\n{err}[exit {}]\n\n",
            args.join(" "),
            out.status.code().unwrap_or(-1)
        ));
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
    }
    // Host problems, with paths shown relative to the test's root.
    let dir_key = host.root.join("dir-key");
    let mut cmd = std::process::Command::new(BIN);
    cmd.arg("--config")
        .arg(host.config())
        .arg("--db")
        .arg(host.db())
        .arg("--key")
        .arg(&dir_key)
        .args(["status", "--user", "bob"]);
    let out = run_with_stdin(&mut cmd, "");
    let err = text(&out.stderr).replace(&host.root.display().to_string(), "ROOT");
    transcript.push_str(&format!(
        "$ planasonix --key ROOT/dir-key status --user bob\n{err}[exit {}]\n",
        out.status.code().unwrap_or(-1)
    ));
    check_snapshot("errors", &transcript);
}
