//! Bad input and unusable hosts: one stderr line, the documented exit code,
//! and nothing written.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Test code: a failed step is a failed test.

use crate::common::*;
use planasonix_native::SledStore;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;

/// The stored state, to show a failed command changed nothing.
fn snapshot(host: &Layout) -> String {
    text(&host.run(&["admin", "list", "--json"], "").stdout)
}

#[test]
fn bad_user_names_are_usage_errors() {
    let host = Layout::init("bad-user");
    for (args, expect) in [
        (vec!["status", "--user", "a b"], "whitespace"),
        (vec!["admin", "unlock", "../etc"], "'/'"),
        (vec!["enroll", "totp", "--user", ""], "empty"),
        (vec!["audit", "--user", "x\ty"], "whitespace"),
    ] {
        let line = fails_with(&host.run(&args, ""), 2);
        assert!(line.contains(expect), "{args:?}: {line}");
    }
    assert_eq!(snapshot(&host).trim(), "[]");
}

#[test]
fn bad_phone_numbers() {
    let host = Layout::with_policy(
        "bad-phone",
        "[sms]\nenabled = true\nallowed_prefixes = [\"+44\"]\n",
    );
    let line = fails_with(
        &host.run(
            &[
                "enroll",
                "sms",
                "--user",
                "alice",
                "--phone",
                "-",
                "--sms-command",
                "/bin/true",
            ],
            "07700900123\n",
        ),
        2,
    );
    assert!(line.contains("international mobile number"), "{line}");
    // Well formed, but a country the policy does not allow: refused, not a usage error.
    let line = fails_with(
        &host.run(
            &[
                "enroll",
                "sms",
                "--user",
                "alice",
                "--phone",
                "-",
                "--sms-command",
                "/bin/true",
            ],
            "+15555550123\n",
        ),
        1,
    );
    assert!(line.contains("not allowed"), "{line}");
    assert_eq!(snapshot(&host).trim(), "[]");
}

#[test]
fn sms_disabled_by_policy() {
    let host = Layout::init("sms-off");
    let line = fails_with(
        &host.run(
            &[
                "enroll",
                "sms",
                "--user",
                "alice",
                "--phone",
                "-",
                "--sms-command",
                "/bin/true",
            ],
            "+447700900123\n",
        ),
        1,
    );
    assert!(line.contains("disabled"), "{line}");
}

#[test]
fn bad_base32_secrets() {
    let host = Layout::init("bad-base32");
    let line = fails_with(
        &host.run(
            &["admin", "provision-totp", "bob", "--secret", "-"],
            "not base32!\n",
        ),
        2,
    );
    assert!(line.contains("not base32"), "{line}");
    let line = fails_with(
        &host.run(
            &["admin", "provision-totp", "bob", "--secret", "-"],
            "JBSWY3DP\n",
        ),
        2,
    );
    assert!(line.contains("must be 16 to"), "{line}");
    let line = fails_with(
        &host.run(
            &["admin", "provision-totp", "bob", "--secret", "-"],
            "1111\n",
        ),
        2,
    );
    assert!(line.contains("not base32"), "{line}");
    assert_eq!(snapshot(&host).trim(), "[]");
}

#[test]
fn world_readable_key_is_refused() {
    let host = Layout::init("open-key");
    std::fs::set_permissions(host.key(), std::fs::Permissions::from_mode(0o644)).unwrap();
    let line = fails_with(&host.run(&["status", "--user", "alice"], ""), 3);
    assert!(line.contains("mode 0644"), "{line}");
    assert!(line.contains("chmod 600"), "{line}");
}

#[test]
fn unreadable_key_is_a_permission_error_with_advice() {
    let host = Layout::init("locked-key");
    // Root reads any file, so drop to `nobody` as an ordinary user would be.
    let out = if euid() == 0 {
        require_tool("setpriv", "util-linux");
        // The test binary may sit where `nobody` cannot reach; run a copy.
        let bin = host.root.join("planasonix");
        std::fs::copy(BIN, &bin).unwrap();
        let mut cmd = Command::new("setpriv");
        cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(&bin)
            .args(host.globals())
            .args(["enroll", "totp", "--user", "nobody"]);
        run_with_stdin(&mut cmd, "")
    } else {
        std::fs::set_permissions(host.key(), std::fs::Permissions::from_mode(0o000)).unwrap();
        host.run(&["enroll", "totp", "--user", "nobody"], "")
    };
    let line = fails_with(&out, 3);
    assert!(line.contains("cannot read seal key"), "{line}");
    assert!(line.contains("ask an administrator"), "{line}");
}

#[test]
fn missing_key_and_database_point_to_init() {
    let host = Layout::empty("uninitialised");
    std::fs::create_dir_all(host.root.join("etc")).unwrap();
    std::fs::write(host.config(), "").unwrap();
    let line = fails_with(&host.run(&["status", "--user", "alice"], ""), 1);
    assert!(line.contains("planasonix init"), "{line}");
    assert!(line.contains("seal key"), "{line}");

    let host = Layout::init("no-db");
    std::fs::remove_dir_all(host.db()).unwrap();
    let line = fails_with(&host.run(&["status", "--user", "alice"], ""), 4);
    assert!(line.contains("does not exist"), "{line}");
    assert!(
        !host.db().exists(),
        "a missing database is not created behind the admin's back"
    );
}

#[test]
fn busy_database_gives_exit_4() {
    let host = Layout::init("busy");
    let held = SledStore::open(&host.db()).unwrap();
    let started = std::time::Instant::now();
    let line = fails_with(
        &host.run(&["--wait", "300ms", "status", "--user", "alice"], ""),
        4,
    );
    assert!(line.contains("database busy"), "{line}");
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(300),
        "it waited first"
    );
    let line = fails_with(
        &host.run(
            &["--wait", "0s", "admin", "reset", "bob", "--reason", "x"],
            "",
        ),
        4,
    );
    assert!(line.contains("database busy"), "{line}");
    drop(held);
    // Released: the same command works, and the failed reset left no trace.
    let out = host.run(&["status", "--user", "bob", "--json"], "");
    assert_eq!(json(&out)["enroll_by"], serde_json::Value::Null);
}

#[test]
fn policy_errors_name_the_line() {
    let host = Layout::init("bad-policy");
    std::fs::write(host.config(), "[enforcement]\nmode = \"sometimes\"\n").unwrap();
    let line = fails_with(&host.run(&["status", "--user", "alice"], ""), 1);
    assert!(line.contains("policy line 2"), "{line}");
    assert!(line.contains("enforcement.mode"), "{line}");

    let bad = host.root.join("other.toml");
    std::fs::write(&bad, "[totp]\nperiod = \"45s\"\nfrobnicate = 1\n").unwrap();
    let line = fails_with(
        &host.run(&["policy", "check", bad.to_str().unwrap()], ""),
        1,
    );
    assert!(line.contains("line 2") || line.contains("line 3"), "{line}");

    std::fs::write(&bad, "[sms]\nenabled = true\n").unwrap();
    let line = fails_with(
        &host.run(&["policy", "check", bad.to_str().unwrap()], ""),
        1,
    );
    assert!(line.contains("allowed_prefixes"), "{line}");

    let line = fails_with(
        &host.run(&["policy", "check", "/nonexistent/policy.toml"], ""),
        1,
    );
    assert!(line.contains("does not exist"), "{line}");
}

#[test]
fn usage_errors_are_one_line() {
    let host = Layout::init("usage");
    for args in [
        vec!["frobnicate"],
        vec![],
        vec!["admin"],
        vec!["status", "--bogus"],
        vec!["audit", "--since", "5y"],
        vec!["admin", "reset", "bob"],
        vec!["completions", "tcsh"],
    ] {
        fails_with(&host.run(&args, ""), 2);
    }
}

#[test]
fn an_unwritable_qr_path_fails_before_anything_starts() {
    let host = Layout::init("qr-path");
    let out = host.run(
        &[
            "enroll",
            "totp",
            "--user",
            "alice",
            "--qr-png",
            "/nonexistent/dir/qr.png",
        ],
        "",
    );
    let line = fails_with(&out, 1);
    assert!(line.contains("/nonexistent/dir"), "{line}");
    assert!(out.stdout.is_empty(), "no secret shown");
    assert_eq!(snapshot(&host).trim(), "[]", "no enrollment begun");
}

#[test]
fn confirmation_without_input_writes_nothing_active() {
    let host = Layout::init("no-input");
    let out = host.run(&["enroll", "totp", "--user", "alice"], "");
    let line = fails_with(&out, 1);
    assert!(line.contains("no input"), "{line}");
    let status = json(&host.run(&["status", "--user", "alice", "--json"], ""));
    assert_eq!(status["enrolled"], false);
}
