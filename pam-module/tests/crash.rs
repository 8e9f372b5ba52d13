//! Crash safety: pamtester logins and CLI commands killed with SIGKILL at
//! random points of 250 transactions on one database. Afterwards the database
//! opens and every invariant holds: no code accepted once is accepted again
//! (TOTP steps and recovery codes alike), and no enrollment that was never
//! confirmed is active.
//!
//! The state service (`planasonix serve`) runs in alternate phases of 25
//! transactions, and is itself SIGKILLed at random points of about one in six
//! of the transactions it serves (then started again); a login whose service
//! died under it may fail closed, and counts as a killed one.
//!
//! The same run on a shared PostgreSQL store (the fleet's): there the service
//! is the only way to the store, so it runs throughout and is SIGKILLed at
//! random points of about one transaction in four (then started again), and
//! the same invariants hold (`tests/RELIABILITY.md`).
//!
//! Every process runs under libfaketime at its own 30-second step, so each
//! login has a fresh code; logins run under pam_wrapper (private PAM files).
// Test harness code: a failed expectation should stop the test loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common::*;
use planasonix_core::{Random, UnixTime};
use planasonix_native::OsRandom;
use planasonix_testkit::postgres::{Postgres, Tls};
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const TRANSACTIONS: u64 = 250;
const FAKETIME: &str = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";
const T0: u64 = 1_900_000_000;
const POLICY: &str = "[enforcement]\nmode = \"required-for-all\"\n[lockout]\nmax_failures = 1000\n";

/// `@YYYY-MM-DD hh:mm:ss` (UTC) for libfaketime.
fn faketime(at: u64) -> String {
    let out = Command::new("date")
        .args(["-u", "-d", &format!("@{at}"), "+@%Y-%m-%d %H:%M:%S"])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// Runs `cmd` at fake time `at` with `input`, killing it after `kill_after`
/// if given. Returns `Some(success)` if it finished, `None` if it was killed.
fn run(
    mut cmd: Command,
    at: u64,
    input: &str,
    kill_after: Option<Duration>,
) -> Option<(bool, String)> {
    let preload = match cmd.get_envs().find(|(k, _)| *k == "LD_PRELOAD") {
        Some((_, Some(v))) => format!("{}:{FAKETIME}", v.to_string_lossy()),
        _ => FAKETIME.to_owned(),
    };
    let mut child = pam_wrapper::spawn(
        cmd.env("LD_PRELOAD", preload)
            .env("FAKETIME", faketime(at))
            .env("TZ", "UTC")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
    )
    .expect("spawn");
    let _ = child.stdin.take().unwrap().write_all(input.as_bytes());
    if let Some(after) = kill_after {
        let start = Instant::now();
        while start.elapsed() < after {
            if child.try_wait().unwrap().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_micros(200));
        }
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap(); // SIGKILL
            child.wait().unwrap();
            forget_faketime_segments(child.id());
            return None;
        }
    }
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Some((out.status.success(), text))
}

fn pamtester(site: &Site, user: &str) -> Command {
    let mut cmd = Command::new("pamtester");
    cmd.args(["-I", "rhost=192.0.2.10", "crash", user, "authenticate"]);
    pam_wrapper::wrap(&mut cmd, &site.confdir);
    cmd
}

fn cli(site: &Site, args: &[&str]) -> Command {
    let mut cmd = Command::new(cli_bin());
    cmd.arg("--config")
        .arg(&site.policy)
        .arg("--db")
        .arg(&site.db)
        .arg("--key")
        .arg(&site.key)
        .arg("--store")
        .arg(site.store_file())
        .args(["--wait", "10s"])
        .args(args);
    cmd
}

/// libfaketime keeps a shared-memory segment and a semaphore per process,
/// named by its pid, and removes them at exit. A SIGKILLed process leaves
/// them behind, and a later process given the same pid fails at start with
/// "shm_open failed: File exists". So the test removes what its kills left.
fn forget_faketime_segments(pid: u32) {
    for name in [
        format!("/dev/shm/faketime_shm_{pid}"),
        format!("/dev/shm/sem.faketime_sem_{pid}"),
    ] {
        let _ = std::fs::remove_file(name);
    }
}

/// Segments left by earlier SIGKILLed runs whose process is gone: each one
/// would make the next process given that pid fail (see above).
fn forget_stale_faketime_segments() {
    let Ok(dir) = std::fs::read_dir("/dev/shm") else {
        return;
    };
    for entry in dir.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|n| {
            n.strip_prefix("faketime_shm_")
                .or_else(|| n.strip_prefix("sem.faketime_sem_"))
        }) else {
            continue;
        };
        if pid.parse::<u32>().is_ok() && !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// The audit trail and status of `user`, for a failure message.
fn what_the_store_says(site: &Site, user: &str) -> String {
    let mut said = String::new();
    for args in [["audit", "--user", user], ["status", "--user", user]] {
        let out = cli(site, &args).output().unwrap();
        said += &format!(
            "planasonix {}:\n{}{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    said
}

/// A login of `user` with `code` at `at`, never killed: did it get in?
fn login(site: &Site, user: &str, code: &str, at: u64) -> bool {
    let (ok, text) = run(pamtester(site, user), at, &format!("{code}\n"), None).unwrap();
    assert!(
        ok || text.contains("Authentication failure"),
        "a login neither succeeded nor was refused: {text}"
    );
    ok
}

/// Where the state lives, and so how the service is treated.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Store {
    /// The embedded database: the service runs in alternate phases of 25
    /// transactions; without it, processes open sled themselves.
    Sled,
    /// A shared PostgreSQL store: the service is the only way to it, so it
    /// runs throughout and is killed (then started again) more often.
    Shared,
}

#[test]
fn kill_nine_at_random_points_loses_nothing_and_breaks_no_invariant() {
    let site = Site::new("crash", POLICY);
    site.service("crash", &[]);
    kill_nine_at_random_points(&site, Store::Sled, TRANSACTIONS);
}

#[test]
fn on_a_shared_postgresql_store_kill_nine_of_the_service_loses_nothing() {
    let pg = Postgres::start(Tls::On);
    let site = Site::new("crash-pg", POLICY);
    std::fs::write(site.store_file(), pg.store_toml("verify-full")).unwrap();
    std::fs::set_permissions(
        site.store_file(),
        std::os::unix::fs::PermissionsExt::from_mode(0o644),
    )
    .unwrap();
    site.service("crash", &[]);
    // At the real time: the server's test certificate is not valid at T0.
    let out = site.cli(&["store", "migrate"]);
    assert!(
        out.status.success(),
        "store migrate: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    kill_nine_at_random_points(&site, Store::Shared, 150);
}

/// Enrolls `user` with `secret` at `at` through the CLI (so through the
/// service on a shared store); returns the recovery codes.
fn provision(site: &Site, user: &str, secret: &[u8], at: u64) -> Vec<String> {
    accounts::ensure(user);
    let base32 = planasonix_core::otpauth::secret_base32(secret);
    let (ok, text) = run(
        cli(
            site,
            &["--json", "admin", "provision-totp", user, "--secret", "-"],
        ),
        at,
        &format!("{}\n", base32.expose()),
        None,
    )
    .unwrap();
    assert!(ok, "provision-totp {user}: {text}");
    let v: serde_json::Value = serde_json::Deserializer::from_str(&text)
        .into_iter()
        .next()
        .unwrap()
        .unwrap();
    v["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect()
}

#[allow(clippy::print_stdout)] // The run's figures, shown with --nocapture.
fn kill_nine_at_random_points(site: &Site, store: Store, transactions: u64) {
    forget_stale_faketime_segments();
    let users: Vec<(String, Vec<u8>)> = (0..6).map(|i| (format!("c{i}"), new_secret())).collect();
    let mut service: Option<Serving> = (store == Store::Shared).then(|| site.serve());
    let mut recovery: Vec<Vec<String>> = users
        .iter()
        .map(|(u, s)| match store {
            Store::Sled => site.provision_at(u, s, UnixTime(T0)),
            Store::Shared => provision(site, u, s, T0),
        })
        .collect();
    let mut rng = OsRandom::new();
    let mut pick = |n: u32| {
        let mut b = [0u8; 4];
        rng.fill(&mut b).unwrap();
        u32::from_le_bytes(b) % n
    };

    // What was accepted by a process that finished, and what a killed one tried.
    let mut accepted: Vec<(usize, String, u64)> = Vec::new();
    let mut unknown: Vec<(usize, String, u64)> = Vec::new();
    let mut enrollments: Vec<String> = Vec::new();
    let (mut killed, mut finished, mut regenerated) = (0, 0, 0);
    let (mut served, mut service_kills) = (0, 0);
    // One in six of the transactions it serves kills the service; on a
    // shared store, where it is always needed, one in four.
    let kill_one_in = match store {
        Store::Sled => 6,
        Store::Shared => 4,
    };
    for i in 0..transactions {
        let at = T0 + 30 * (i + 1);
        let want_service = store == Store::Shared || (i / 25) % 2 == 1;
        match (&service, want_service) {
            (None, true) => service = Some(site.serve()),
            (Some(_), false) => service.take().unwrap().crash(),
            _ => {}
        }
        served += u32::from(service.is_some());
        // Killed from another thread while this transaction runs, after 0-40 ms.
        let service_killer = match &service {
            Some(s) if pick(kill_one_in) == 0 => {
                let pid = s.0.id().to_string();
                let after = Duration::from_micros(u64::from(pick(40_000)));
                Some(std::thread::spawn(move || {
                    std::thread::sleep(after);
                    let _ = Command::new("kill").args(["-9", &pid]).status();
                }))
            }
            _ => None,
        };
        let service_died = service_killer.is_some();
        // One in four runs to completion, the rest are killed after 0-40 ms.
        let kill_after = (pick(4) != 0).then(|| Duration::from_micros(u64::from(pick(40_000))));
        let u = (i % users.len() as u64) as usize;
        let (user, secret) = &users[u];
        let outcome = match i % 5 {
            0..=2 => {
                let code = oathtool_at(secret, &format!("@{at}"));
                let r = run(pamtester(site, user), at, &format!("{code}\n"), kill_after);
                match &r {
                    Some((true, _)) => accepted.push((u, code, at)),
                    // Failed closed when the service vanished mid-transaction.
                    Some((false, _)) if service_died => unknown.push((u, code, at)),
                    Some((false, text)) => panic!(
                        "a valid code was refused at step {i}: {text}\n{}",
                        what_the_store_says(site, user)
                    ),
                    None => unknown.push((u, code, at)),
                }
                r
            }
            3 => {
                // The next recovery code we have not tried yet, if any.
                let Some(code) = recovery[u].pop() else {
                    continue;
                };
                let r = run(pamtester(site, user), at, &format!("{code}\n"), kill_after);
                match &r {
                    Some((true, _)) => accepted.push((u, code, at)),
                    // Refused: a regeneration (maybe killed) replaced the set.
                    Some((false, _)) => {}
                    None => unknown.push((u, code, at)),
                }
                r
            }
            _ => {
                if i % 10 == 4 {
                    let r = run(
                        cli(
                            site,
                            &["--json", "recovery-codes", "--user", user, "--regenerate"],
                        ),
                        at,
                        "",
                        kill_after,
                    );
                    if let Some((true, text)) = &r {
                        // Standard output (the JSON) comes first in `text`.
                        let v: serde_json::Value = serde_json::Deserializer::from_str(text)
                            .into_iter()
                            .next()
                            .unwrap()
                            .unwrap();
                        recovery[u] = v["recovery_codes"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .map(|c| c.as_str().unwrap().to_owned())
                            .collect();
                        assert_eq!(recovery[u].len(), 10, "{text}");
                        regenerated += 1;
                    }
                    r
                } else {
                    // An enrollment that is never confirmed: killed, or given a wrong code.
                    let name = format!("e{i}");
                    accounts::ensure(&name);
                    enrollments.push(name.clone());
                    run(
                        cli(site, &["enroll", "totp", "--user", &name]),
                        at,
                        "000000\n",
                        kill_after,
                    )
                }
            }
        };
        if let Some(killer) = service_killer {
            killer.join().unwrap();
            service.take().unwrap().crash();
            service_kills += 1;
        }
        if store == Store::Shared && service.is_none() {
            service = Some(site.serve());
        }
        if outcome.is_some() {
            finished += 1;
        } else {
            killed += 1;
        }
    }
    if store == Store::Sled {
        if let Some(s) = service.take() {
            s.crash();
        }
    }
    println!(
        "{transactions} transactions: {killed} killed, {finished} finished, {} accepted codes; \
         {served} through the state service, which was killed {service_kills} times",
        accepted.len()
    );
    assert!(
        service_kills >= 5,
        "the service was killed only {service_kills} times"
    );
    assert!(regenerated > 0, "no regeneration finished");
    assert!(
        killed >= transactions / 10 && finished >= transactions / 10,
        "{killed} killed, {finished} finished: adjust the kill window"
    );

    let end = T0 + 30 * (transactions + 1);
    // The database opens and every record reads.
    let (ok, text) = run(cli(site, &["--json", "admin", "list"]), end, "", None).unwrap();
    assert!(ok, "admin list after the crashes: {text}");
    for (user, _) in &users {
        let (ok, text) = run(
            cli(site, &["--json", "status", "--user", user]),
            end,
            "",
            None,
        )
        .unwrap();
        assert!(ok, "status of {user}: {text}");
    }
    let (ok, text) = run(cli(site, &["--json", "audit"]), end, "", None).unwrap();
    assert!(ok, "audit after the crashes: {text}");
    // No code accepted by a finished login is accepted again.
    for (u, code, at) in &accepted {
        assert!(
            !login(site, &users[*u].0, code, *at),
            "{} reused an accepted code",
            users[*u].0
        );
    }
    // A code whose login was killed is accepted at most once from now on.
    for (u, code, at) in &unknown {
        let wins = (0..2)
            .filter(|_| login(site, &users[*u].0, code, *at))
            .count();
        assert!(wins <= 1, "{} got in twice with one code", users[*u].0);
    }
    // No enrollment that was never confirmed is active.
    for name in &enrollments {
        let (ok, text) = run(
            cli(site, &["--json", "status", "--user", name]),
            end,
            "",
            None,
        )
        .unwrap();
        assert!(ok, "status of {name}: {text}");
        let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        assert!(
            compact.contains("\"enrolled\":false"),
            "{name} is active: {text}"
        );
    }
    // And the users still get in with fresh codes.
    for (user, secret) in &users {
        let at = end + 60;
        assert!(
            login(site, user, &oathtool_at(secret, &format!("@{at}")), at),
            "{user} locked out"
        );
    }
}
