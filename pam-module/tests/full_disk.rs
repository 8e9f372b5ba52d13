//! A filesystem filled by an unprivileged user must not deny logins: the
//! module writes as root, which may use the filesystem's reserved blocks, and
//! break-glass works even once those are gone too.
//!
//! A small ext4 filesystem (20 % reserved for root) on a loop device holds
//! the database; an unprivileged account fills it with `dd`. Logins go
//! through real libpam (pamtester under pam_wrapper, syslog captured). Needs
//! root (mount, loop devices, setpriv).
// Test harness code: a failed expectation should stop the test loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common::*;
use std::path::{Path, PathBuf};
use std::process::Command;

fn sh(script: &str) {
    let out = Command::new("sh").args(["-c", script]).output().unwrap();
    assert!(
        out.status.success(),
        "{script}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// An ext4 image mounted through a loop device for the test's life.
struct Ext4 {
    mountpoint: PathBuf,
}

impl Ext4 {
    fn mount(dir: &Path, megabytes: u32, reserved_percent: u32) -> Ext4 {
        let image = dir.join("fs.img");
        let mountpoint = dir.join("fs");
        std::fs::create_dir_all(&mountpoint).unwrap();
        sh(&format!(
            "truncate -s {megabytes}M {img} && mkfs.ext4 -q -F -m {reserved_percent} {img} && mount -o loop {img} {mnt}",
            img = image.display(),
            mnt = mountpoint.display()
        ));
        Ext4 { mountpoint }
    }
}

impl Drop for Ext4 {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.mountpoint).status();
    }
}

/// Fills the filesystem at `dir` as `user` (root when `None`) until it refuses.
fn fill(dir: &Path, name: &str, user: Option<&str>) {
    let file = dir.join(name);
    let dd = format!(
        "dd if=/dev/zero of={} bs=64k 2>/dev/null; true",
        file.display()
    );
    let status = match user {
        Some(u) => Command::new("setpriv")
            .args([
                "--reuid",
                u,
                "--regid",
                u,
                "--clear-groups",
                "sh",
                "-c",
                &dd,
            ])
            .status(),
        None => Command::new("sh").args(["-c", &dd]).status(),
    }
    .unwrap();
    assert!(status.success());
}

fn login(site: &Site, user: &str, input: &str) -> (bool, Vec<String>) {
    let (ok, lines) = pamtester_syslog(site, "sshd", user, input);
    let ours = lines
        .into_iter()
        .filter(|l| l.contains("pam_planasonix"))
        .collect();
    (ok, ours)
}

#[test]
fn a_user_filling_the_disk_denies_no_login_and_break_glass_survives_a_full_disk() {
    let policy = "[enforcement]\nmode = \"required-for-all\"\nexempt_users = [\"breakglass\"]\n";
    let mut site = Site::new("full-disk", policy);
    let fs = Ext4::mount(&site.dir, 64, 20);
    site.db = fs.mountpoint.join("db");
    site.service("sshd", &[]);
    accounts::ensure_all(&["breakglass", "filler"]);
    let secret = new_secret();
    site.provision("alice", &secret);
    // A world-writable corner, as /var/tmp is on many hosts.
    let shared = fs.mountpoint.join("tmp");
    std::fs::create_dir(&shared).unwrap();
    sh(&format!("chmod 1777 {}", shared.display()));

    fill(&shared, "filler", Some("filler"));
    let (ok, lines) = login(&site, "breakglass", "");
    assert!(
        ok,
        "the exempt user was refused on a disk full for users: {lines:#?}"
    );
    let (ok, lines) = login(&site, "alice", &format!("{}\n", oathtool(&secret)));
    assert!(
        ok,
        "alice was refused with a right code while root's reserve was free: {lines:#?}"
    );

    // Root's reserve gone too: break-glass still works, everyone else is
    // refused with a line that says why.
    fill(&fs.mountpoint, "root-filler", None);
    let (ok, lines) = login(&site, "breakglass", "");
    assert!(ok, "the exempt user was refused on a full disk: {lines:#?}");
    assert!(
        lines
            .iter()
            .any(|l| l.contains("user=breakglass") && l.contains("exempt")),
        "the break-glass login left no syslog line: {lines:#?}"
    );
    let (ok, lines) = login(&site, "alice", &format!("{}\n", oathtool(&secret)));
    assert!(!ok, "alice got in although nothing could be recorded");
    assert!(
        lines.iter().any(|l| l.contains("user=alice")
            && l.contains("free on its filesystem")
            && l.contains("failing closed")),
        "no precise line for the refusal: {lines:#?}"
    );
    // Space back: alice logs in again, the database intact.
    std::fs::remove_file(fs.mountpoint.join("root-filler")).unwrap();
    std::fs::remove_file(shared.join("filler")).unwrap();
    let (ok, lines) = login(
        &site,
        "alice",
        &format!(
            "{}\n",
            oathtool_at(&secret, &format!("@{}", planasonix_native::now().0 + 30))
        ),
    );
    assert!(ok, "alice was refused once space was freed: {lines:#?}");
}
