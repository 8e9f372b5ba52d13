//! Faults around the module: each is applied, a login must fail closed
//! (PAM_AUTHINFO_UNAVAIL, nothing granted) with a syslog line that names the
//! cause, other users' state must be untouched, and once the fault is fixed
//! the same user logs in. Needs root (mounts, private /dev/log).
// Test harness code: a failed expectation should stop the test loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common::*;
use planasonix_core::Store;
use planasonix_native::SledStore;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

const REQUIRED: &str = "[enforcement]\nmode = \"required-for-all\"\n";

/// A login that must be refused with a log line containing `cause`.
fn refused_saying(site: &Site, user: &str, secret: &[u8], cause: &str) {
    let (ok, lines) = pamtester_syslog(site, "faults", user, &format!("{}\n", oathtool(secret)));
    assert!(!ok, "{user} got in despite the fault");
    let ours: Vec<&String> = lines
        .iter()
        .filter(|l| l.contains("pam_planasonix"))
        .collect();
    assert!(
        ours.iter().any(|l| l.contains(cause)),
        "no log line says {cause:?}: {ours:#?}"
    );
    assert!(
        !lines.iter().any(|l| l.contains(&oathtool(secret))),
        "a code reached the log"
    );
}

/// A login that must succeed (the fault is fixed).
fn gets_in(site: &Site, user: &str, secret: &[u8]) {
    let (ok, lines) = pamtester_syslog(site, "faults", user, &format!("{}\n", oathtool(secret)));
    assert!(ok, "{user} was refused after the fix: {lines:#?}");
}

fn sh(script: &str) {
    let st = Command::new("sh").args(["-c", script]).status().unwrap();
    assert!(st.success(), "{script}");
}

#[test]
fn key_policy_and_record_faults_fail_closed_and_recover() {
    let site = Site::new("faults-files", REQUIRED);
    site.service("faults", &[]);
    let users: Vec<(String, Vec<u8>)> = (0..5).map(|i| (format!("f{i}"), new_secret())).collect();
    for (u, s) in &users {
        site.provision(u, s);
    }
    let key_text = std::fs::read(&site.key).unwrap();
    let policy_text = std::fs::read(&site.policy).unwrap();

    // Missing key.
    std::fs::remove_file(&site.key).unwrap();
    refused_saying(&site, "f0", &users[0].1, &site.key.display().to_string());
    std::fs::write(&site.key, &key_text).unwrap();
    std::fs::set_permissions(&site.key, std::fs::Permissions::from_mode(0o600)).unwrap();
    gets_in(&site, "f0", &users[0].1);

    // World-readable key.
    std::fs::set_permissions(&site.key, std::fs::Permissions::from_mode(0o644)).unwrap();
    refused_saying(&site, "f1", &users[1].1, "group or others");
    std::fs::set_permissions(&site.key, std::fs::Permissions::from_mode(0o600)).unwrap();
    gets_in(&site, "f1", &users[1].1);

    // Corrupt policy: the line and key are named.
    std::fs::write(&site.policy, "[enforcement]\nmode = \"required-for-al\"\n").unwrap();
    refused_saying(&site, "f2", &users[2].1, "line 2");
    std::fs::write(&site.policy, &policy_text).unwrap();
    gets_in(&site, "f2", &users[2].1);

    // Corrupt record: that user fails closed, the record is left as it was
    // for the admin to look at, everyone else logs in.
    let original = SledStore::transaction(&site.db, Duration::from_secs(30), |s| {
        let v = s.get("user/f3")?.unwrap();
        s.compare_and_swap("user/f3", Some(v.version), Some(b"{\"schema\":1,\"totp\":"))?;
        Ok::<_, planasonix_core::StoreError>(v.value)
    })
    .unwrap();
    refused_saying(&site, "f3", &users[3].1, "corrupt");
    gets_in(&site, "f4", &users[4].1);
    let after = SledStore::transaction(&site.db, Duration::from_secs(30), |s| s.get("user/f3"))
        .unwrap()
        .unwrap();
    assert_eq!(
        after.value, b"{\"schema\":1,\"totp\":",
        "the corrupt record was changed"
    );
    SledStore::transaction(&site.db, Duration::from_secs(30), |s| {
        s.compare_and_swap("user/f3", Some(after.version), Some(&original))
    })
    .unwrap();
    gets_in(&site, "f3", &users[3].1);
}

/// A tmpfs of `size` mounted at `dir` for the test's life.
struct Tmpfs<'a>(&'a Path);
impl<'a> Tmpfs<'a> {
    fn mount(dir: &'a Path, size: &str) -> Tmpfs<'a> {
        std::fs::create_dir_all(dir).unwrap();
        sh(&format!(
            "mount -t tmpfs -o size={size},mode=0700 tmpfs {}",
            dir.display()
        ));
        Tmpfs(dir)
    }
}
impl Drop for Tmpfs<'_> {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(self.0).status();
    }
}

#[test]
fn a_full_or_read_only_state_directory_fails_closed_and_recovers() {
    let site = Site::new("faults-disk", REQUIRED);
    let state = site.dir.join("state");
    let _mount = Tmpfs::mount(&state, "32m");
    let db = state.join("db");
    site.service("faults", &[&format!("db={}", db.display())]);
    let secret = new_secret();
    let other = new_secret();
    // Provision into the tmpfs database.
    let cli = |args: &[&str]| {
        let out = Command::new(cli_bin())
            .arg("--config")
            .arg(&site.policy)
            .arg("--key")
            .arg(&site.key)
            .arg("--db")
            .arg(&db)
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    cli(&["init"]);
    accounts::ensure_all(&["fulldisk", "other"]);
    for (user, s) in [("fulldisk", &secret), ("other", &other)] {
        let b32 = planasonix_core::otpauth::secret_base32(s);
        // Never on the command line: a root-only file.
        let file = site.dir.join(format!("{user}.secret"));
        std::fs::write(&file, b32.expose()).unwrap();
        std::fs::set_permissions(&file, std::os::unix::fs::PermissionsExt::from_mode(0o600))
            .unwrap();
        cli(&[
            "admin",
            "provision-totp",
            user,
            "--secret-file",
            file.to_str().unwrap(),
        ]);
    }

    // Full: fill the tmpfs to the last byte.
    sh(&format!(
        "dd if=/dev/zero of={}/filler bs=1M 2>/dev/null || true",
        state.display()
    ));
    refused_saying(&site, "fulldisk", &secret, "database");
    std::fs::remove_file(state.join("filler")).unwrap();
    gets_in(&site, "fulldisk", &secret);

    // Read-only.
    sh(&format!("mount -o remount,ro {}", state.display()));
    refused_saying(&site, "other", &other, "database");
    sh(&format!("mount -o remount,rw {}", state.display()));
    gets_in(&site, "other", &other);
}

#[test]
fn without_syslog_logins_still_work_and_the_audit_trail_keeps_them() {
    let site = Site::new("faults-syslog", REQUIRED);
    site.service("faults", &[]);
    let secret = new_secret();
    site.provision("quiet", &secret);
    // A private /dev without a log socket: every syslog() call goes nowhere.
    let (ok, out) = pamtester_in_namespace(
        &site,
        "faults",
        "quiet",
        &format!("{}\n", oathtool(&secret)),
        None,
    );
    assert!(ok, "login failed without syslog: {out}");
    let mut trail = site.db.as_os_str().to_owned();
    trail.push(".audit.jsonl");
    let text = std::fs::read_to_string(trail).unwrap();
    assert!(
        text.lines()
            .any(|l| l.contains("\"user\":\"quiet\"") && l.contains("verified")),
        "the login is not in the audit trail: {text}"
    );
}

#[test]
fn an_unwritable_audit_trail_is_reported_and_the_events_reach_syslog() {
    let site = Site::new("faults-trail", REQUIRED);
    site.service("faults", &[]);
    let secret = new_secret();
    site.provision("trail", &secret);
    // A directory where the trail file should be: no privilege opens that.
    let mut trail = site.db.as_os_str().to_owned();
    trail.push(".audit.jsonl");
    std::fs::create_dir_all(&trail).unwrap();
    let (ok, lines) = pamtester_syslog(
        &site,
        "faults",
        "trail",
        &format!("{}\n", oathtool(&secret)),
    );
    assert!(
        ok,
        "the login itself must not depend on the trail: {lines:#?}"
    );
    assert!(
        lines.iter().any(|l| l.contains("event=verified")),
        "the event is not in syslog: {lines:#?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("audit trail not written for user=trail")
                && l.contains("audit.jsonl")),
        "the failed trail write is not reported: {lines:#?}"
    );
}
