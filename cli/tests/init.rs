//! `planasonix init`: modes, idempotency, never overwriting a key.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Test code: a failed step is a failed test.

use crate::common::*;
use std::os::unix::fs::PermissionsExt;

#[test]
fn init_creates_files_with_safe_modes() {
    let host = Layout::empty("init-modes");
    let out = host.run(&["init"], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(mode(&host.key()), 0o600);
    assert_eq!(mode(&host.db()), 0o700);
    assert_eq!(mode(&host.config()), 0o644);
    let policy = std::fs::read_to_string(host.config()).unwrap();
    assert_eq!(policy, planasonix_core::policy::DEFAULT_POLICY_TOML);
    let stdout = text(&out.stdout);
    assert!(stdout.contains("created seal key"), "{stdout}");
    assert!(text(&out.stderr).is_empty());
    // The key it wrote is one the core accepts.
    planasonix_native::load_key_file(&host.key()).unwrap();
}

#[test]
fn init_is_idempotent_and_never_overwrites_the_key() {
    let host = Layout::init("init-twice");
    let key_before = std::fs::read(host.key()).unwrap();
    std::fs::write(host.config(), "[totp]\nissuer = \"ACME\"\n").unwrap();
    let out = host.run(&["init"], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(std::fs::read(host.key()).unwrap(), key_before);
    assert_eq!(
        std::fs::read_to_string(host.config()).unwrap(),
        "[totp]\nissuer = \"ACME\"\n",
        "an existing policy is kept"
    );
    let stdout = text(&out.stdout);
    assert!(stdout.contains("kept existing seal key"), "{stdout}");
    assert!(stdout.contains("kept existing policy"), "{stdout}");
    // No temporary files left behind.
    let leftovers: Vec<_> = std::fs::read_dir(host.root.join("etc"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn init_refuses_an_existing_world_readable_key() {
    let host = Layout::init("init-open-key");
    let key_before = std::fs::read(host.key()).unwrap();
    std::fs::set_permissions(host.key(), std::fs::Permissions::from_mode(0o644)).unwrap();
    let line = fails_with(&host.run(&["init"], ""), 3);
    assert!(line.contains("chmod 600"), "{line}");
    assert_eq!(std::fs::read(host.key()).unwrap(), key_before);
}

#[test]
fn init_reports_an_invalid_existing_policy() {
    let host = Layout::init("init-bad-policy");
    std::fs::write(host.config(), "[totp]\ndigits = 7\n").unwrap();
    let line = fails_with(&host.run(&["init"], ""), 1);
    assert!(line.contains("line 2"), "{line}");
}
