//! Enrollment end to end: QR code, `oathtool` codes, recovery codes, status, audit.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Test code: a failed step is a failed test.

use crate::common::*;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

/// Runs `enroll totp`, answering with `answer(secret)` once the URI is shown.
/// Returns (exit code, full stdout, stderr, the printed URI).
fn enroll_totp(
    host: &Layout,
    extra: &[&str],
    answer: impl Fn(&str) -> String,
) -> (i32, String, String, String) {
    let mut args = vec!["enroll", "totp", "--user", "alice"];
    args.extend_from_slice(extra);
    let mut child = host
        .command(&args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut seen = String::new();
    let uri = loop {
        let mut line = String::new();
        if stdout.read_line(&mut line).unwrap() == 0 {
            let out = child.wait_with_output().unwrap();
            panic!("no URI line; stdout: {seen}; stderr: {}", text(&out.stderr));
        }
        seen.push_str(&line);
        if let Some(uri) = line.trim_end().strip_prefix("URI: ") {
            break uri.to_owned();
        }
    };
    // The database must be closed while the person reads the code: another
    // process can open it now.
    {
        let store = planasonix_native::SledStore::open(&host.db())
            .expect("database held during the prompt");
        drop(store);
    }
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(format!("{}\n", answer(&uri_secret(&uri))).as_bytes())
        .unwrap();
    drop(stdin);
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    seen.push_str(&rest);
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        seen,
        text(&out.stderr),
        uri,
    )
}

#[test]
fn enroll_totp_with_oathtool_and_a_png_qr_code() {
    require_tool("zbarimg", "zbar-tools");
    let host = Layout::init("enroll-totp");
    let png = host.root.join("qr.png");
    let svg = host.root.join("qr.svg");
    let (code, stdout, stderr, uri) = enroll_totp(
        &host,
        &[
            "--qr-png",
            png.to_str().unwrap(),
            "--qr-svg",
            svg.to_str().unwrap(),
        ],
        oathtool,
    );
    assert_eq!(code, 0, "stderr: {stderr}\nstdout: {stdout}");
    assert!(stderr.is_empty(), "{stderr}");
    assert!(
        uri.starts_with("otpauth://totp/Planasonix:alice?secret="),
        "{uri}"
    );
    assert!(uri.contains("&algorithm=SHA1&digits=6&period=30"), "{uri}");

    // The PNG decodes to exactly the printed URI; both images are private.
    let z = Command::new("zbarimg")
        .args(["--quiet", "--raw"])
        .arg(&png)
        .output()
        .unwrap();
    assert!(z.status.success(), "zbarimg failed: {}", text(&z.stderr));
    assert_eq!(text(&z.stdout).trim_end(), uri);
    assert_eq!(mode(&png), 0o600);
    assert_eq!(mode(&svg), 0o600);
    assert!(std::fs::read_to_string(&svg).unwrap().starts_with("<?xml"));

    // The manual-entry key is the URI's secret, grouped by four.
    let grouped = stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("key:"))
        .unwrap()
        .trim();
    assert_eq!(grouped.replace(' ', ""), uri_secret(&uri));
    // The terminal QR code is drawn with half blocks.
    assert!(stdout.contains('▀') || stdout.contains('▄'), "{stdout}");

    let codes = recovery_codes(&stdout);
    assert_eq!(codes.len(), 10, "{stdout}");
    assert!(
        stdout.contains("Authenticator app enrolled for alice."),
        "{stdout}"
    );

    let status = json(&host.run(&["status", "--user", "alice", "--json"], ""));
    assert_eq!(status["user"], "alice");
    assert_eq!(status["enrolled"], true);
    assert_eq!(status["factors"], serde_json::json!(["totp", "recovery"]));
    assert_eq!(status["pending"], serde_json::json!([]));
    assert_eq!(status["recovery_remaining"], 10);
    assert!(status["totp_since"].as_u64().unwrap() > 1_700_000_000);
    for field in [
        "totp_last_used",
        "sms_number",
        "sms_last_used",
        "locked_until",
        "recent_failures",
        "enroll_by",
        "last_mfa",
        "schema",
    ] {
        assert!(
            status.get(field).is_some(),
            "status --json lacks {field}: {status}"
        );
    }

    let audit = json(&host.run(&["audit", "--user", "alice", "--json"], ""));
    let events: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        events,
        [
            "enrollment-started",
            "enrolled",
            "recovery-codes-regenerated"
        ]
    );
    let first = &audit[0];
    assert_eq!(first["user"], "alice");
    assert_eq!(first["factor"], "totp");
    assert_eq!(first["level"], "info");
    assert!(first["at"].is_u64());
    assert!(first["time"].as_str().unwrap().ends_with('Z'));
    // Nothing secret in the log.
    let log = text(&host.run(&["audit", "--json"], "").stdout);
    assert!(!log.contains(&uri_secret(&uri)));
    for c in &codes {
        assert!(!log.contains(c.as_str()));
    }
}

#[test]
fn a_wrong_code_does_not_enroll() {
    let host = Layout::init("enroll-wrong");
    let (code, stdout, stderr, _) = enroll_totp(&host, &[], |secret| {
        let right: u32 = oathtool(secret).parse().unwrap();
        format!("{:06}", (right + 500_000) % 1_000_000)
    });
    assert_eq!(code, 1, "{stdout}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("that code is not right"), "{stderr}");
    assert!(recovery_codes(&stdout).is_empty());
    let status = json(&host.run(&["status", "--user", "alice", "--json"], ""));
    assert_eq!(status["enrolled"], false);
    assert_eq!(status["pending"], serde_json::json!(["totp"]));
}

#[test]
fn recovery_codes_count_and_regenerate() {
    let host = Layout::init("recovery");
    let (code, stdout, stderr, _) = enroll_totp(&host, &[], oathtool);
    assert_eq!(code, 0, "{stderr}");
    let first = recovery_codes(&stdout);

    let out = host.run(&["recovery-codes", "--user", "alice"], "");
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        text(&out.stdout).trim(),
        "alice has 10 unused recovery codes."
    );
    assert_eq!(
        json(&host.run(&["recovery-codes", "--user", "alice", "--json"], ""))["remaining"],
        10
    );

    let out = host.run(
        &[
            "recovery-codes",
            "--user",
            "alice",
            "--regenerate",
            "--json",
        ],
        "",
    );
    let fresh = json(&out);
    let fresh: Vec<String> = fresh["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(fresh.len(), 10);
    assert!(fresh.iter().all(|c| !first.contains(c)));

    // Not enrolled: nothing to regenerate.
    let line = fails_with(
        &host.run(&["recovery-codes", "--user", "bob", "--regenerate"], ""),
        1,
    );
    assert!(line.contains("no second factor is enrolled"), "{line}");
}

#[test]
fn admin_provision_reset_unlock_and_list() {
    let host = Layout::init("admin");
    let secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
    let out = host.run(
        &["admin", "provision-totp", "bob", "--secret", "-"],
        &format!("{secret}\n"),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(recovery_codes(&text(&out.stdout)).len(), 10);

    let out = host.run(
        &[
            "admin",
            "provision-totp",
            "carol",
            "--secret",
            "-",
            "--json",
        ],
        &format!("{secret}\n"),
    );
    assert_eq!(json(&out)["recovery_codes"].as_array().unwrap().len(), 10);

    let list = json(&host.run(&["admin", "list", "--json"], ""));
    let users: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["user"].as_str().unwrap())
        .collect();
    assert_eq!(users, ["bob", "carol"]);
    let table = text(&host.run(&["admin", "list"], "").stdout);
    assert!(table.starts_with("USER"), "{table}");
    assert!(table.contains("bob"), "{table}");

    let out = host.run(
        &[
            "admin",
            "reset",
            "bob",
            "--reason",
            "lost phone, ID checked by J. Doe",
        ],
        "",
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let status = json(&host.run(&["status", "--user", "bob", "--json"], ""));
    assert_eq!(status["enrolled"], false);
    assert_eq!(status["recovery_remaining"], 0);
    assert!(status["enroll_by"].as_u64().is_some(), "{status}");

    let out = host.run(&["admin", "unlock", "carol"], "");
    assert_eq!(out.status.code(), Some(0));

    let audit = json(&host.run(&["audit", "--since", "1h", "--json"], ""));
    let reset = audit
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["event"] == "reset")
        .expect("reset audited");
    assert_eq!(reset["user"], "bob");
    assert_eq!(reset["reason"], "lost phone, ID checked by J. Doe");
    assert_eq!(reset["level"], "warning");
    assert!(audit
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["event"] == "unlocked" && e["user"] == "carol"));
    let human = text(&host.run(&["audit", "--user", "bob"], "").stdout);
    assert!(human.contains("user=bob event=reset"), "{human}");
}

const SMS_POLICY: &str = "[sms]\nenabled = true\nallowed_prefixes = [\"+44\"]\n";

/// An executable shell script at `ROOT/send-sms` running `body`.
/// A record sealed under another key (a host given a new seal key, a record
/// copied in from another store) is named by `admin list`, which goes on with
/// the others, and `admin reset` replaces it: nothing else can clear it.
#[test]
fn a_record_no_key_here_opens_is_listed_as_such_and_a_reset_replaces_it() {
    let host = Layout::init("unreadable-record");
    let secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
    for user in ["bob", "carol"] {
        let out = host.run(
            &["admin", "provision-totp", user, "--secret", "-"],
            &format!("{secret}\n"),
        );
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    }
    // The host gets another seal key: both records are now unreadable here.
    let other = Layout::init("unreadable-record-other-key");
    std::fs::copy(other.key(), host.key()).unwrap();

    let out = host.run(&["admin", "list"], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let table = text(&out.stdout);
    for user in ["bob", "carol"] {
        assert!(
            table
                .lines()
                .any(|l| l.starts_with(user) && l.contains("UNREADABLE: ")),
            "{table}"
        );
    }
    assert!(
        table.contains("2 stored record(s) cannot be read"),
        "{table}"
    );
    assert!(table.contains("admin reset"), "{table}");
    let list = json(&host.run(&["admin", "list", "--json"], ""));
    assert!(
        list[0]["unreadable"].as_str().unwrap().contains("seal key"),
        "{list}"
    );

    let out = host.run(&["admin", "reset", "bob", "--reason", "new seal key"], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let status = json(&host.run(&["status", "--user", "bob", "--json"], ""));
    assert_eq!(status["enrolled"], false, "{status}");
    assert!(status["enroll_by"].as_u64().is_some(), "{status}");
    let audit = json(&host.run(&["audit", "--user", "bob", "--json"], ""));
    let reset = audit
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["event"] == "reset")
        .expect("the replacement is audited");
    assert_eq!(
        reset["reason"],
        "new seal key (the stored record could not be read and was replaced)"
    );
    // carol is still unreadable, and still listed as such, not lost.
    let list = json(&host.run(&["admin", "list", "--json"], ""));
    let carol = list
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["user"] == "carol");
    assert!(carol.unwrap()["unreadable"].is_string(), "{list}");
    let bob = list.as_array().unwrap().iter().find(|r| r["user"] == "bob");
    assert_eq!(bob.unwrap()["enrolled"], false, "{list}");
}

fn sms_script(host: &Layout, body: &str) -> std::path::PathBuf {
    let path = host.root.join("send-sms");
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    path
}

#[test]
fn enroll_sms_through_the_configured_command() {
    let host = Layout::with_policy("sms", SMS_POLICY);
    let sent = host.root.join("sent");
    let script = sms_script(
        &host,
        &format!("echo \"$1\" > {0}.to\ncat > {0}.text", sent.display()),
    );
    let mut child = host
        .command(&["enroll", "sms", "--user", "dave", "--phone", "-"])
        .env("PLANASONIX_SMS_COMMAND", &script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The number first (never on the command line), the code later.
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"+44 7700 900123\n").unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut seen = String::new();
    while !seen.contains("A code was sent to") {
        let mut line = String::new();
        assert_ne!(stdout.read_line(&mut line).unwrap(), 0, "{seen}");
        seen.push_str(&line);
    }
    assert!(seen.contains("weaker than an authenticator app"), "{seen}");
    assert!(seen.contains("+44••••••••23"), "{seen}");
    assert_eq!(
        std::fs::read_to_string(sent.with_extension("to"))
            .unwrap()
            .trim(),
        "+447700900123"
    );
    let message = std::fs::read_to_string(sent.with_extension("text")).unwrap();
    let code: String = message
        .split_whitespace()
        .find(|w| w.trim_end_matches('.').chars().all(|c| c.is_ascii_digit()) && w.len() >= 6)
        .unwrap()
        .trim_end_matches('.')
        .to_owned();
    stdin.write_all(format!("{code}\n").as_bytes()).unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(recovery_codes(&rest).len(), 10, "{rest}");
    let status = json(&host.run(&["status", "--user", "dave", "--json"], ""));
    assert_eq!(status["factors"], serde_json::json!(["sms", "recovery"]));
    assert_eq!(status["sms_number"], "+44••••••••23");
    // The number never reaches the audit log.
    assert!(!text(&host.run(&["audit", "--json"], "").stdout).contains("7700900123"));
}

#[test]
fn a_failing_or_hanging_sms_command_is_reported_plainly() {
    let host = Layout::with_policy("sms-fail", SMS_POLICY);
    let failing = sms_script(&host, "cat >/dev/null; exit 7");
    let out = host.run(
        &[
            "enroll",
            "sms",
            "--user",
            "erin",
            "--phone",
            "-",
            "--sms-command",
            failing.to_str().unwrap(),
        ],
        "+447700900123\n",
    );
    let line = fails_with(&out, 1);
    assert!(line.contains("exited with status 7"), "{line}");
    assert!(
        line.contains("authenticator app or a recovery code"),
        "{line}"
    );

    let hanging = host.root.join("hang");
    std::fs::write(&hanging, "#!/bin/sh\nexec sleep 30\n").unwrap();
    std::fs::set_permissions(
        &hanging,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let started = std::time::Instant::now();
    let out = host.run(
        &[
            "enroll",
            "sms",
            "--user",
            "frank",
            "--phone",
            "-",
            "--sms-command",
            hanging.to_str().unwrap(),
            "--sms-timeout",
            "1s",
        ],
        "+447700900124\n",
    );
    let line = fails_with(&out, 1);
    assert!(line.contains("did not finish within 1s"), "{line}");
    assert!(started.elapsed() < std::time::Duration::from_secs(10));

    let audit = json(&host.run(&["audit", "--json"], ""));
    assert!(
        audit
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["event"] == "sms-failed"),
        "{audit}"
    );
    let status = json(&host.run(&["status", "--user", "erin", "--json"], ""));
    assert_eq!(
        status["pending"],
        serde_json::json!([]),
        "a failed send leaves nothing pending"
    );
}

/// A shell command line running this build of `planasonix` against `host`.
fn cli_line(host: &Layout, args: &str) -> String {
    let globals: Vec<String> = host.globals().iter().map(|g| format!("'{g}'")).collect();
    format!("'{BIN}' {} {args}", globals.join(" "))
}

#[test]
fn the_database_is_free_while_the_sms_command_runs() {
    let host = Layout::with_policy("sms-free", SMS_POLICY);
    let seen = host.root.join("seen");
    // The SMS command itself reads the database. Were the CLI still holding
    // it, this `status` would give up after --wait with "database busy" (4).
    let script = sms_script(
        &host,
        &format!(
            "cat > {0}.text\n{1} > {0}.json 2> {0}.err\necho $? > {0}.rc",
            seen.display(),
            cli_line(&host, "--wait 2s status --user gina --json")
        ),
    );
    let mut child = host
        .command(&[
            "enroll",
            "sms",
            "--user",
            "gina",
            "--phone",
            "-",
            "--sms-command",
            script.to_str().unwrap(),
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"+447700900125\n").unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut shown = String::new();
    while !shown.contains("A code was sent to") {
        let mut line = String::new();
        assert_ne!(stdout.read_line(&mut line).unwrap(), 0, "{shown}");
        shown.push_str(&line);
    }
    let read = |ext: &str| std::fs::read_to_string(seen.with_extension(ext)).unwrap_or_default();
    assert_eq!(
        read("rc").trim(),
        "0",
        "status inside the SMS command failed: {}",
        read("err")
    );
    // It saw the enrollment already committed: the code is pending.
    let status: serde_json::Value = serde_json::from_str(&read("json")).unwrap();
    assert_eq!(status["pending"], serde_json::json!(["sms"]), "{status}");
    assert_eq!(status["enrolled"], false, "{status}");

    // While the person reads the text, the database is free as well.
    drop(planasonix_native::SledStore::open(&host.db()).expect("database held"));
    let code: String = read("text")
        .split_whitespace()
        .map(|w| w.trim_end_matches('.'))
        .find(|w| w.len() >= 6 && w.chars().all(|c| c.is_ascii_digit()))
        .unwrap()
        .to_owned();
    stdin.write_all(format!("{code}\n").as_bytes()).unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let status = json(&host.run(&["status", "--user", "gina", "--json"], ""));
    assert_eq!(status["factors"], serde_json::json!(["sms", "recovery"]));
}

#[test]
fn notices_are_sent_with_the_database_closed_and_failures_audited() {
    let host = Layout::init("notice");
    let secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
    let out = host.run(
        &["admin", "provision-totp", "hank", "--secret", "-"],
        &format!("{secret}\n"),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));

    // The notice command reads the database while it runs.
    let seen = host.root.join("notice");
    let notice = host.root.join("send-notice");
    std::fs::write(
        &notice,
        format!(
            "#!/bin/sh\necho \"$1\" > {0}.user\ncat > {0}.text\n{1} > {0}.json 2> {0}.err\necho $? > {0}.rc\n",
            seen.display(),
            cli_line(&host, "--wait 2s status --user hank --json")
        ),
    )
    .unwrap();
    std::fs::set_permissions(&notice, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let out = host.run(
        &[
            "admin",
            "reset",
            "hank",
            "--reason",
            "lost phone",
            "--notice-command",
            notice.to_str().unwrap(),
        ],
        "",
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let read = |ext: &str| std::fs::read_to_string(seen.with_extension(ext)).unwrap_or_default();
    assert_eq!(read("user").trim(), "hank");
    assert!(
        read("text").contains("reset your second factors"),
        "{}",
        read("text")
    );
    assert_eq!(
        read("rc").trim(),
        "0",
        "status in the notice command: {}",
        read("err")
    );
    let status: serde_json::Value = serde_json::from_str(&read("json")).unwrap();
    assert_eq!(
        status["enrolled"], false,
        "the reset was committed first: {status}"
    );

    // A failing notice command does not undo or fail the change; it is audited.
    let failing = host.root.join("fail-notice");
    std::fs::write(&failing, "#!/bin/sh\ncat >/dev/null\nexit 5\n").unwrap();
    std::fs::set_permissions(
        &failing,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let out = run_with_stdin(
        host.command(&["admin", "provision-totp", "hank", "--secret", "-"])
            .env("PLANASONIX_NOTICE_COMMAND", &failing),
        &format!("{secret}\n"),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(json(&host.run(&["status", "--user", "hank", "--json"], ""))["enrolled"] == true);
    let audit = json(&host.run(&["audit", "--user", "hank", "--json"], ""));
    let failed = audit
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["event"] == "notice-failed")
        .unwrap_or_else(|| panic!("notice failure audited: {audit}"));
    assert!(
        failed["reason"]
            .as_str()
            .unwrap()
            .contains("exited with status 5"),
        "{failed}"
    );
}
