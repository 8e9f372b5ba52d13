//! `planasonix audit` over hostile values: a remote host, a service and a user
//! name from outside and an admin's reason carry escape sequences, newlines,
//! C1 controls and bidi overrides; neither the text nor the JSON output
//! gives the terminal any of them raw, no text line reads as two events, and
//! the JSON still gives every value back exactly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Test code: a failed step is a failed test.

use crate::common::*;

const REASON: &str = "lost phone\x1b[2J\nevent=verified \u{202e}exe.gnp";
const REMOTE: &str = "203.0.113.9 event=verified factor=totp \x1b[2J";
const SERVICE: &str = "sshd\u{7f}\u{85}\u{2066}";
const USER: &str = "mallory\u{202e}";

/// Characters a terminal must never get as themselves (newline aside, which
/// ends a line of output).
fn raw(text: &str) -> Vec<char> {
    text.chars()
        .filter(|&c| {
            c != '\n'
                && (c.is_control()
                    || matches!(c as u32, 0x200B..=0x200F | 0x2028..=0x202E | 0x2060..=0x206F | 0xFEFF))
        })
        .collect()
}

/// How many `event=` fields a log parser finds in `line`, reading
/// double-quoted values (with `\` escapes) as one value.
fn event_fields(line: &str) -> usize {
    let (mut count, mut quoted, mut escaped, mut token) = (0, false, false, String::new());
    for c in line.chars().chain([' ']) {
        if escaped {
            escaped = false;
        } else if quoted && c == '\\' {
            escaped = true;
        } else if c == '"' {
            quoted = !quoted;
        } else if c.is_whitespace() && !quoted {
            count += usize::from(token.starts_with("event="));
            token.clear();
        } else if !quoted {
            token.push(c);
        }
    }
    assert!(!quoted, "unbalanced quotes: {line:?}");
    count
}

#[test]
fn audit_output_never_passes_control_or_bidi_characters_through() {
    let host = Layout::init("audit-escape");
    let secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
    let out = host.run(
        &["admin", "provision-totp", "root", "--secret", "-"],
        &format!("{secret}\n"),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = host.run(&["admin", "reset", "root", "--reason", REASON], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(raw(&text(&out.stdout)), [], "{}", text(&out.stdout));

    // Events as the PAM module or an identity provider would have written
    // them: the values came from outside.
    let mut trail = host.db().into_os_string();
    trail.push(".audit.jsonl");
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&trail)
        .unwrap();
    let events = [
        serde_json::json!({
            "at": 1_800_000_000u64, "user": "root", "service": SERVICE,
            "remote": REMOTE, "event": "replay",
        }),
        serde_json::json!({
            "at": 1_800_000_001u64, "user": USER, "service": SERVICE,
            "remote": REMOTE, "event": "verified", "factor": "totp",
        }),
        // The engine turns the control characters of a reason into spaces
        // when it stores one; a trail written otherwise must print safely too.
        serde_json::json!({
            "at": 1_800_000_002u64, "user": "root", "event": "reset", "reason": REASON,
        }),
    ];
    for event in events {
        std::io::Write::write_all(&mut file, format!("{event}\n").as_bytes()).unwrap();
    }
    drop(file);

    let out = host.run(&["audit"], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let human = text(&out.stdout);
    assert_eq!(raw(&human), [], "{human}");
    for line in human.lines() {
        assert_eq!(event_fields(line), 1, "{line:?}");
    }
    assert!(
        human.contains(r#"reason="lost phone [2J event=verified \u{202e}exe.gnp""#),
        "{human}"
    );
    assert!(
        human.contains(r#"reason="lost phone\u{001b}[2J\nevent=verified \u{202e}exe.gnp""#),
        "{human}"
    );
    assert!(
        human.contains(r#"remote="203.0.113.9 event=verified factor=totp \u{001b}[2J""#),
        "{human}"
    );
    assert!(
        human.contains(r#"service="sshd\u{007f}\u{0085}\u{2066}""#),
        "{human}"
    );
    assert!(human.contains(r#"user="mallory\u{202e}""#), "{human}");

    let out = host.run(&["audit", "--json"], "");
    let json_text = text(&out.stdout);
    assert_eq!(raw(&json_text), [], "{json_text}");
    let events = json(&out);
    let events = events.as_array().unwrap();
    assert_eq!(
        human.lines().count(),
        events.len(),
        "one line per event: {human}"
    );
    let stored = REASON.replace(['\x1b', '\n'], " ");
    for reason in [stored.as_str(), REASON] {
        assert!(
            events
                .iter()
                .any(|e| e["event"] == "reset" && e["reason"] == reason),
            "{reason:?} not given back: {json_text}"
        );
    }
    assert!(events
        .iter()
        .any(|e| e["user"] == USER && e["remote"] == REMOTE && e["service"] == SERVICE));
}
