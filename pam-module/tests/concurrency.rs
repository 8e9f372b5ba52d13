//! Many logins at once through real libpam, all on one sled database that each
//! PAM call opens only for its own short transactions.
// Test harness code: a failed expectation should stop the test loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common::libpam::name;
use crate::common::*;
use pam_sys::*;
use std::sync::{Arc, Barrier};

const REQUIRED: &str = "[enforcement]\nmode = \"required-for-all\"\n";

#[test]
fn thirty_two_users_log_in_at_once() {
    let site = Arc::new(Site::new("parallel32", REQUIRED));
    site.service("sshd", &[]);
    let users: Vec<(String, Vec<u8>)> = (0..32)
        .map(|i| (format!("user{i:02}"), new_secret()))
        .collect();
    for (user, secret) in &users {
        site.provision(user, secret);
    }
    let barrier = Arc::new(Barrier::new(users.len()));
    let handles: Vec<_> = users
        .into_iter()
        .map(|(user, secret)| {
            let site = site.clone();
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                let code = oathtool(&secret);
                let mut tx = site.start("sshd", &user, answers(&[&code]));
                barrier.wait();
                let rc = tx.authenticate();
                (user, rc, transcript(&tx.shown()))
            })
        })
        .collect();
    let mut failures = Vec::new();
    for h in handles {
        let (user, rc, shown) = h.join().unwrap();
        if rc != PAM_SUCCESS {
            failures.push(format!("{user}: {}\n{shown}", name(rc)));
        }
    }
    assert!(
        failures.is_empty(),
        "{} logins failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn eight_logins_racing_one_recovery_code_exactly_one_wins() {
    // Each loser typed a spent code, which counts as a failure; a lockout limit
    // above 8 keeps every loser's answer a plain "wrong code".
    let site = Arc::new(Site::new(
        "race8",
        "[enforcement]\nmode = \"required-for-all\"\n[lockout]\nmax_failures = 20\n",
    ));
    site.service("sshd", &[]);
    let codes = site.provision("alice", &new_secret());
    let code = codes[0].clone();
    let barrier = Arc::new(Barrier::new(8));
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let site = site.clone();
            let barrier = barrier.clone();
            let code = code.clone();
            std::thread::spawn(move || {
                let mut tx = site.start("sshd", "alice", answers(&[&code]));
                barrier.wait();
                let rc = tx.authenticate();
                (rc, transcript(&tx.shown()))
            })
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let wins = results.iter().filter(|(rc, _)| *rc == PAM_SUCCESS).count();
    let refused = results.iter().filter(|(rc, _)| *rc == PAM_AUTH_ERR).count();
    let summary: Vec<String> = results
        .iter()
        .map(|(rc, s)| format!("{}: {s}", name(*rc)))
        .collect();
    assert_eq!(wins, 1, "{summary:#?}");
    assert_eq!(
        refused, 7,
        "every loser is a wrong code, none a lock error: {summary:#?}"
    );
}

#[test]
fn sixty_four_mixed_logins_while_the_cli_writes() {
    // Recovery-code logins of one user race each other for that user's
    // record; TOTP logins of 48 users race for the database; admin commands
    // run through the real CLI all the while.
    let site = Arc::new(Site::new(
        "contention64",
        "[enforcement]\nmode = \"required-for-all\"\n",
    ));
    site.service("sshd", &[]);
    let mut logins: Vec<(String, String)> = Vec::new();
    for i in 0..48 {
        let user = format!("totp{i:02}");
        let secret = new_secret();
        site.provision(&user, &secret);
        logins.push((user, oathtool(&secret)));
    }
    for i in 0..4 {
        let user = format!("rec{i}");
        let codes = site.provision(&user, &new_secret());
        logins.extend(codes.into_iter().take(4).map(|c| (user.clone(), c)));
    }
    for i in 0..4 {
        site.provision(&format!("admin{i}"), &new_secret());
    }
    assert_eq!(logins.len(), 64);
    let barrier = Arc::new(Barrier::new(logins.len() + 1));
    let writer = {
        let site = site.clone();
        let barrier = barrier.clone();
        std::thread::spawn(move || {
            barrier.wait();
            let mut failed = Vec::new();
            for round in 0..6 {
                let user = format!("admin{}", round % 4);
                let commands: [&[&str]; 4] = [
                    &["--wait", "30s", "admin", "unlock", &user],
                    &[
                        "--wait",
                        "30s",
                        "recovery-codes",
                        "--user",
                        &user,
                        "--regenerate",
                    ],
                    &["--wait", "30s", "--json", "status", "--user", &user],
                    &["--wait", "30s", "admin", "list"],
                ];
                for args in commands {
                    let out = site.cli(args);
                    if !out.status.success() {
                        failed.push(format!(
                            "{args:?}: {}",
                            String::from_utf8_lossy(&out.stderr)
                        ));
                    }
                }
            }
            failed
        })
    };
    let handles: Vec<_> = logins
        .into_iter()
        .map(|(user, code)| {
            let site = site.clone();
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                let mut tx = site.start("sshd", &user, answers(&[&code]));
                barrier.wait();
                let rc = tx.authenticate();
                (user, rc, transcript(&tx.shown()))
            })
        })
        .collect();
    let failures: Vec<String> = handles
        .into_iter()
        .map(|h| h.join().unwrap())
        .filter(|(_, rc, _)| *rc != PAM_SUCCESS)
        .map(|(user, rc, shown)| format!("{user}: {}\n{shown}", name(rc)))
        .collect();
    let cli_failures = writer.join().unwrap();
    assert!(
        failures.is_empty(),
        "{} of 64 logins failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(
        cli_failures.is_empty(),
        "CLI commands failed: {cli_failures:#?}"
    );
    // Every recovery-code login was counted: 6 of 10 codes left for each.
    for i in 0..4 {
        let out = site.cli(&["--json", "status", "--user", &format!("rec{i}")]);
        let status: String = String::from_utf8_lossy(&out.stdout)
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        assert!(status.contains("\"recovery_remaining\":6,"), "{status}");
    }
}
