//! Secrets and phone numbers never travel on the command line, where other
//! users read them in `/proc/PID/cmdline` and shell history and sudo's log keep
//! them: `--secret -` (stdin) or `--secret-file PATH` (a file only its owner,
//! root or the admin, may read); `--phone -` or a prompt.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Test code: a failed step is a failed test.

use crate::common::*;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const SECRET: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
const PHONE: &str = "+447700900123";
const SMS_POLICY: &str = "[sms]\nenabled = true\nallowed_prefixes = [\"+44\"]\n";

fn users(host: &Layout) -> String {
    text(&host.run(&["admin", "list", "--json"], "").stdout)
}

fn enrolled_totp(host: &Layout, user: &str) -> bool {
    let status = json(&host.run(&["status", "--user", user, "--json"], ""));
    status["enrolled"] == true && status["factors"][0] == "totp"
}

fn secret_file(host: &Layout, name: &str, mode: u32) -> PathBuf {
    let path = host.root.join(name);
    std::fs::write(&path, format!("{SECRET}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    path
}

fn provision_from(host: &Layout, user: &str, file: &Path) -> std::process::Output {
    host.run(
        &[
            "admin",
            "provision-totp",
            user,
            "--secret-file",
            file.to_str().unwrap(),
        ],
        "",
    )
}

#[test]
fn a_secret_on_the_command_line_is_refused_and_not_echoed() {
    let host = Layout::init("argv-secret");
    for args in [
        vec!["admin", "provision-totp", "bob", "--secret", SECRET],
        vec![
            "admin",
            "provision-totp",
            "bob",
            &*format!("--secret={SECRET}"),
        ],
        vec!["admin", "provision-totp", "bob", "--secret", "not base32"],
    ] {
        let line = fails_with(&host.run(&args, ""), 2);
        assert!(line.contains("--secret -"), "{line}");
        assert!(line.contains("--secret-file PATH"), "{line}");
        assert!(!line.contains(SECRET), "the secret echoed: {line}");
        assert!(!line.contains("not base32"), "the value echoed: {line}");
    }
    // Neither form given: a usage error too.
    let line = fails_with(&host.run(&["admin", "provision-totp", "bob"], ""), 2);
    assert!(line.contains("--secret"), "{line}");
    assert_eq!(users(&host).trim(), "[]");
}

#[test]
fn the_secret_from_stdin_never_appears_in_argv() {
    let host = Layout::init("stdin-secret");
    let args = ["admin", "provision-totp", "bob", "--secret", "-"];
    assert!(!args.concat().contains(SECRET));
    let mut child = host
        .command(&args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // While it waits for the secret, what everyone on the host can read of it.
    let cmdline = std::fs::read(format!("/proc/{}/cmdline", child.id())).unwrap();
    assert!(
        !String::from_utf8_lossy(&cmdline).contains(SECRET),
        "{cmdline:?}"
    );
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(format!("{SECRET}\n").as_bytes()).unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(recovery_codes(&text(&out.stdout)).len(), 10);
    assert!(enrolled_totp(&host, "bob"));
    assert!(!text(&out.stdout).contains(SECRET));

    // Lowercase and grouped as apps show it, CRLF from a Windows clipboard.
    let out = host.run(
        &["admin", "provision-totp", "carol", "--secret", "-"],
        "gezd gnbv gy3t qojq gezd gnbv gy3t qojq\r\n",
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(enrolled_totp(&host, "carol"));
    // An endless line is cut off, not read into memory.
    let long = "A".repeat(100_000);
    let line = fails_with(
        &host.run(&["admin", "provision-totp", "dave", "--secret", "-"], &long),
        2,
    );
    assert!(line.contains("too long"), "{line}");
}

#[test]
fn a_root_only_secret_file_is_read() {
    let host = Layout::init("secret-file");
    let file = secret_file(&host, "bob.secret", 0o600);
    let out = provision_from(&host, "bob", &file);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(enrolled_totp(&host, "bob"));
    assert!(accepted(&verify(&host, "bob", &oathtool(SECRET))));
    let file = secret_file(&host, "carol.secret", 0o400);
    let out = provision_from(&host, "carol", &file);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

fn accepted(v: &planasonix_core::Verification) -> bool {
    matches!(v, planasonix_core::Verification::Accepted { .. })
}

#[test]
fn unsafe_secret_files_are_refused() {
    let host = Layout::init("secret-file-unsafe");
    let real = secret_file(&host, "real.secret", 0o600);

    let link = host.root.join("link.secret");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let line = fails_with(&provision_from(&host, "bob", &link), 3);
    assert!(line.contains("symbolic link"), "{line}");

    let open = secret_file(&host, "open.secret", 0o640);
    let line = fails_with(&provision_from(&host, "bob", &open), 3);
    assert!(line.contains("0640"), "{line}");
    assert!(line.contains("chmod 600"), "{line}");

    accounts::ensure("frank");
    let theirs = secret_file(&host, "frank.secret", 0o600);
    let chown = Command::new("chown")
        .arg("frank")
        .arg(&theirs)
        .status()
        .unwrap();
    assert!(chown.success());
    let line = fails_with(&provision_from(&host, "bob", &theirs), 3);
    assert!(line.contains("owned by"), "{line}");

    let dir = host.root.join("a-directory");
    std::fs::create_dir(&dir).unwrap();
    let line = fails_with(&provision_from(&host, "bob", &dir), 3);
    assert!(line.contains("not a regular file"), "{line}");

    // A FIFO would block a plain open until someone writes to it.
    let fifo = host.root.join("fifo");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let line = fails_with(&provision_from(&host, "bob", &fifo), 3);
    assert!(line.contains("not a regular file"), "{line}");

    let big = host.root.join("big.secret");
    std::fs::write(&big, "A".repeat(100_000)).unwrap();
    std::fs::set_permissions(&big, std::fs::Permissions::from_mode(0o600)).unwrap();
    let line = fails_with(&provision_from(&host, "bob", &big), 2);
    assert!(line.contains("too long"), "{line}");

    for line in [
        fails_with(&provision_from(&host, "bob", &link), 3),
        fails_with(&provision_from(&host, "bob", &open), 3),
    ] {
        assert!(!line.contains(SECRET), "{line}");
    }
    assert_eq!(users(&host).trim(), "[]");
}

#[test]
fn a_phone_number_on_the_command_line_is_refused_and_not_echoed() {
    let host = Layout::with_policy("argv-phone", SMS_POLICY);
    let line = fails_with(
        &host.run(
            &[
                "enroll",
                "sms",
                "--user",
                "alice",
                "--phone",
                PHONE,
                "--sms-command",
                "/bin/true",
            ],
            "",
        ),
        2,
    );
    assert!(line.contains("--phone -"), "{line}");
    assert!(!line.contains("7700900"), "the number echoed: {line}");
    // Without --phone and without a terminal to ask at: say how to give it.
    let line = fails_with(
        &host.run(
            &[
                "enroll",
                "sms",
                "--user",
                "alice",
                "--sms-command",
                "/bin/true",
            ],
            "",
        ),
        2,
    );
    assert!(line.contains("--phone -"), "{line}");
    assert_eq!(users(&host).trim(), "[]");
}

#[test]
fn the_phone_number_from_stdin() {
    let host = Layout::with_policy("stdin-phone", SMS_POLICY);
    let sent = host.root.join("sent");
    let script = host.root.join("send-sms");
    std::fs::write(&script, format!("#!/bin/sh\ncat > {}\n", sent.display())).unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let args = [
        "enroll",
        "sms",
        "--user",
        "alice",
        "--phone",
        "-",
        "--sms-command",
        script.to_str().unwrap(),
    ];
    // One line for the number; the code would follow. Without it the
    // enrollment stays pending, which is all this needs.
    let out = host.run(&args, &format!("{PHONE}\n"));
    assert!(
        text(&out.stdout).contains("A code was sent to +44••••••••23"),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(std::fs::read_to_string(&sent).unwrap().contains("code"));
    let status = json(&host.run(&["status", "--user", "alice", "--json"], ""));
    assert_eq!(status["pending"], serde_json::json!(["sms"]), "{status}");
    // A malformed number from stdin: a usage error that does not repeat it.
    let line = fails_with(&host.run(&args, "07700 900999\n"), 2);
    assert!(line.contains("international mobile number"), "{line}");
    assert!(!line.contains("900999"), "{line}");
}
