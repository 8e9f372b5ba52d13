//! Honest log lines: a value from outside (here `PAM_RHOST`, which sshd takes
//! from the network and any PAM application may set to anything) reaches
//! syslog and `planasonix audit` quoted and escaped, so it can neither forge a
//! `key=value` field nor a second event, nor drive the reader's terminal.
//! Needs root (mounts, private /dev/log).
// Test harness code: a failed expectation should stop the test loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common::*;

const REQUIRED: &str = "[enforcement]\nmode = \"required-for-all\"\n";

/// A remote host that, written as it is, reads as a second event and
/// clears the terminal of whoever reads the log.
const HOSTILE_RHOST: &str = "203.0.113.9 event=verified factor=totp \x1b[2J";

/// How the remote host must appear in a `key=value` line.
const QUOTED_RHOST: &str = r#"remote="203.0.113.9 event=verified factor=totp \u{001b}[2J""#;

/// The keys of the `key=value` fields of `line`, reading double-quoted
/// values (with `\` escapes) as one value, as a log parser would.
fn keys(line: &str) -> Vec<String> {
    let mut keys = Vec::new();
    let mut token = String::new();
    let mut chars = line.chars();
    let mut quoted = false;
    let mut flush = |token: &mut String| {
        if let Some((key, _)) = token.split_once('=') {
            keys.push(key.to_owned());
        }
        token.clear();
    };
    while let Some(c) = chars.next() {
        match c {
            '\\' if quoted => {
                chars.next();
            }
            '"' => quoted = !quoted,
            c if c.is_whitespace() && !quoted => flush(&mut token),
            c if !quoted => token.push(c),
            _ => {}
        }
    }
    assert!(!quoted, "unbalanced quotes: {line:?}");
    flush(&mut token);
    keys
}

/// Characters no log line or terminal output may carry as themselves.
fn raw_controls(text: &str) -> Vec<char> {
    text.chars()
        .filter(|&c| {
            c.is_control()
                || matches!(c as u32, 0x200B..=0x200F | 0x2028..=0x202E | 0x2060..=0x206F | 0xFEFF)
        })
        .collect()
}

#[test]
fn a_hostile_remote_host_is_quoted_in_syslog_and_in_planasonix_audit() {
    let site = Site::new("log-lines", REQUIRED);
    site.service("demo", &["debug"]);
    let secret = new_secret();
    site.provision("root", &secret);
    let (ok, lines) = pamtester_syslog_from(
        &site,
        "demo",
        "root",
        HOSTILE_RHOST,
        &format!("{}\n", oathtool(&secret)),
    );
    assert!(ok, "the right code was refused: {lines:#?}");
    let ours: Vec<&String> = lines
        .iter()
        .filter(|l| l.contains("pam_planasonix("))
        .collect();
    assert!(!ours.is_empty(), "no line from the module: {lines:#?}");
    for line in &lines {
        assert_eq!(raw_controls(line), [], "raw control characters in {line:?}");
        let events = keys(line).iter().filter(|k| *k == "event").count();
        assert!(events <= 1, "{events} event fields in {line:?}");
    }
    assert!(
        ours.iter().any(|l| l.contains(&format!(
            "audit: user=root service=demo {QUOTED_RHOST} event=verified factor=totp"
        ))),
        "the audit line does not carry the quoted remote host: {ours:#?}"
    );
    assert!(
        ours.iter()
            .any(|l| l.contains(&format!("user=root service=demo {QUOTED_RHOST}: accepted"))),
        "the flow's line does not carry the quoted remote host: {ours:#?}"
    );

    // The same event read back from the audit trail by the CLI.
    let out = site.cli(&["audit", "--user", "root"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let verified: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("event=verified"))
        .collect();
    assert_eq!(verified.len(), 1, "{text}");
    assert!(verified[0].contains(QUOTED_RHOST), "{text}");
    for line in text.lines() {
        assert_eq!(raw_controls(line), [], "raw control characters in {line:?}");
        assert!(
            keys(line).iter().filter(|k| *k == "event").count() <= 1,
            "{line:?}"
        );
    }
    let out = site.cli(&["audit", "--user", "root", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json = String::from_utf8(out.stdout).unwrap();
    assert_eq!(raw_controls(&json.replace('\n', "")), [], "{json}");
    let events: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert!(
        events
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["event"] == "verified" && e["remote"] == HOSTILE_RHOST),
        "the JSON does not give the remote host back as it was: {json}"
    );
}
