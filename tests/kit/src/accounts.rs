//! Real Unix accounts for tests that go through NSS.
//!
//! The PAM module and the CLI resolve every user name through NSS
//! (`getpwnam_r`) and refuse names it does not know, so a test that logs
//! `alice` in needs an `alice` in the passwd database. [`ensure`] creates a
//! system account (no home, no shell, no password) with `useradd`, marked by
//! its comment field, unless an account of that name already exists (then it
//! is used as it is and never removed).
//!
//! Cleanup: every test process holds a lease file naming the accounts it
//! uses; when the process exits, the accounts this suite created that no live
//! process leases any more are removed with `userdel`. Stale leases of killed
//! runs are swept the same way.
// The one unsafe call: libc::atexit, to release the leases when the test
// process exits (test code only).
#![allow(unsafe_code)]

use std::collections::BTreeSet;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, Once};

/// The comment (GECOS) field that marks an account as made by this suite.
pub const MARK: &str = "planasonix test account";

const LEASES: &str = "/run/planasonix-test-accounts";

static HELD: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());
static AT_EXIT: Once = Once::new();

/// The passwd entry of `name` (`getent passwd`), if any.
pub fn passwd_entry(name: &str) -> Option<String> {
    let out = Command::new("getent")
        .args(["passwd", name])
        .output()
        .expect("getent (libc-bin) is required");
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

fn group_exists(name: &str) -> bool {
    Command::new("getent")
        .args(["group", name])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The uid of `name`, if the account exists.
pub fn uid_of(name: &str) -> Option<u32> {
    passwd_entry(name)?.split(':').nth(2)?.parse().ok()
}

fn lock() -> File {
    fs::create_dir_all(LEASES).expect("creating the test-account lease directory needs root");
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(Path::new(LEASES).join("lock"))
        .unwrap();
    file.lock().unwrap();
    file
}

fn lease_path(pid: u32) -> PathBuf {
    Path::new(LEASES).join(format!("{pid}.lease"))
}

fn write_lease(held: &BTreeSet<String>) {
    let mut text = String::new();
    for n in held {
        text.push_str(n);
        text.push('\n');
    }
    let path = lease_path(std::process::id());
    let mut f = File::create(&path).unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

/// Makes sure an account called `name` exists for the life of this process.
pub fn ensure(name: &str) {
    let mut held = HELD.lock().unwrap_or_else(|e| e.into_inner());
    if held.contains(name) {
        return;
    }
    AT_EXIT.call_once(|| {
        // SAFETY: registers a plain `extern "C" fn()` without arguments.
        unsafe { libc::atexit(release_all) };
    });
    let _guard = lock();
    if passwd_entry(name).is_none() {
        let mut last = String::new();
        // A group of that name may exist already (`disk`, `users`): then the
        // account gets no group of its own rather than joining that one.
        let own_group = !group_exists(name);
        let created = (0..50).any(|_| {
            let out = Command::new("useradd")
                .arg(if own_group {
                    "--user-group"
                } else {
                    "--no-user-group"
                })
                .args([
                    "--system",
                    "--no-create-home",
                    "--home-dir",
                    "/nonexistent",
                    "--shell",
                    "/usr/sbin/nologin",
                    "--comment",
                    MARK,
                    name,
                ])
                .output()
                .expect("useradd (passwd) is required, and root");
            if out.status.success() || passwd_entry(name).is_some() {
                return true;
            }
            last = String::from_utf8_lossy(&out.stderr).into_owned();
            std::thread::sleep(std::time::Duration::from_millis(20));
            false
        });
        assert!(created, "useradd {name} failed: {last}");
    }
    held.insert(name.to_owned());
    write_lease(&held);
}

/// [`ensure`] for each name.
pub fn ensure_all<S: AsRef<str>>(names: &[S]) {
    for n in names {
        ensure(n.as_ref());
    }
}

fn pid_alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// Accounts marked as ours in the passwd database.
fn marked_accounts() -> Vec<String> {
    let Ok(out) = Command::new("getent").arg("passwd").output() else {
        return Vec::new();
    };
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.split(':').nth(4) == Some(MARK))
        .filter_map(|l| l.split(':').next().map(str::to_owned))
        .collect()
}

/// Removes this process's lease and every marked account no live lease names.
pub fn release() {
    let _guard = lock();
    let _ = fs::remove_file(lease_path(std::process::id()));
    let mut in_use = BTreeSet::new();
    if let Ok(entries) = fs::read_dir(LEASES) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(pid) = name
                .strip_suffix(".lease")
                .and_then(|p| p.parse::<u32>().ok())
            else {
                continue;
            };
            if !pid_alive(pid) {
                let _ = fs::remove_file(entry.path());
                continue;
            }
            if let Ok(text) = fs::read_to_string(entry.path()) {
                in_use.extend(text.lines().map(str::to_owned));
            }
        }
    }
    for account in marked_accounts() {
        if !in_use.contains(&account) {
            let _ = Command::new("userdel").arg(&account).output();
        }
    }
}

extern "C" fn release_all() {
    let _ = std::panic::catch_unwind(release);
}
