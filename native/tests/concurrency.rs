//! Races: threads on one store, and processes on one sled database.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use planasonix_core::*;
use planasonix_native::SledStore;
use planasonix_testkit::{ctx, Fixture, TempDir, T0};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

fn race_one_recovery_code(store: &dyn Store) -> usize {
    let policy = Policy::from_toml("[lockout]\nmax_failures = 100\n").unwrap();
    let key = SealKey::generate(&mut SeededRandom::new(1)).unwrap();
    let engine = Engine::new(&policy, &key, store);
    let params = TotpParams {
        algorithm: hotp::Algorithm::Sha1,
        digits: 6,
        period: 30,
    };
    let codes = engine
        .provision_totp(
            "alice",
            &SecretBytes::new(vec![7; 20]),
            params,
            T0,
            &mut SeededRandom::new(2),
        )
        .unwrap()
        .recovery_codes;
    let code = codes[0].expose().to_owned();
    let wins = std::thread::scope(|s| {
        let handles: Vec<_> = (0..32)
            .map(|i| {
                let (engine, code) = (&engine, code.clone());
                s.spawn(move || {
                    let out = engine
                        .verify(
                            "alice",
                            code.as_bytes(),
                            &ctx(),
                            T0,
                            &mut SeededRandom::new(i),
                        )
                        .unwrap();
                    matches!(out, Verification::Accepted { .. })
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap())
            .filter(|won| *won)
            .count()
    });
    assert_eq!(engine.status("alice", T0).unwrap().recovery_remaining, 9);
    wins
}

#[test]
fn thirty_two_threads_spend_one_recovery_code_once_in_memory() {
    assert_eq!(race_one_recovery_code(&MemoryStore::new()), 1);
}

#[test]
fn thirty_two_threads_spend_one_recovery_code_once_in_sled() {
    let scratch = TempDir::new("race");
    let dir = scratch.join("db");
    let store = SledStore::open(&dir).unwrap();
    assert_eq!(race_one_recovery_code(&store), 1);
    drop(store);
}

#[test]
fn parallel_logins_of_different_users_all_succeed() {
    let f = Fixture::new("");
    let users: Vec<(String, String)> = (0..32)
        .map(|i| {
            let user = format!("user{i}");
            let (secret, _) = planasonix_testkit::enroll(&f, &user, T0);
            (user, secret)
        })
        .collect();
    let t = T0.plus(Duration::from_secs(90));
    let engine = f.engine();
    std::thread::scope(|s| {
        for (i, (user, secret)) in users.iter().enumerate() {
            let engine = &engine;
            s.spawn(move || {
                let code = planasonix_testkit::code_at(secret, t);
                let out = engine
                    .verify(
                        user,
                        code.as_bytes(),
                        &ctx(),
                        t,
                        &mut SeededRandom::new(i as u64),
                    )
                    .unwrap();
                assert!(
                    matches!(out, Verification::Accepted { .. }),
                    "{user}: {out:?}"
                );
            });
        }
    });
}

const CHILD_ENV: &str = "PLANASONIX_HAMMER_DB";
const ROUNDS: usize = 25;

fn policy() -> Policy {
    Policy::from_toml("[recovery]\ncodes = 50\n[lockout]\nmax_failures = 1000\n").unwrap()
}

fn key() -> SealKey {
    SealKey::generate(&mut SeededRandom::new(42)).unwrap()
}

/// One process's share of the work: per round, open the database, bump a
/// counter and spend one recovery code, close it again.
fn hammer(db: &Path, codes: &[String]) {
    let (policy, key) = (policy(), key());
    for code in codes.iter().take(ROUNDS) {
        SledStore::transaction(db, Duration::from_secs(20), |store| -> Result<(), Error> {
            loop {
                let cur = store.get("counter")?;
                let n = cur
                    .as_ref()
                    .map_or(0, |v| u64::from_be_bytes(v.value[..8].try_into().unwrap()));
                let expected = cur.map(|v| v.version);
                if store.compare_and_swap("counter", expected, Some(&(n + 1).to_be_bytes()))?
                    != store::Cas::Conflict
                {
                    break;
                }
            }
            let out = Engine::new(&policy, &key, store).verify(
                "alice",
                code.as_bytes(),
                &ctx(),
                T0,
                &mut SeededRandom::new(0),
            )?;
            assert!(matches!(out, Verification::Accepted { .. }), "{out:?}");
            Ok(())
        })
        .unwrap();
    }
}

/// Runs only as a child of the test below.
#[test]
fn hammer_child() {
    if let Ok(db) = std::env::var(CHILD_ENV) {
        let codes: Vec<String> = std::env::var("PLANASONIX_HAMMER_CODES")
            .unwrap()
            .split(',')
            .map(str::to_owned)
            .collect();
        hammer(Path::new(&db), &codes);
    }
}

#[test]
fn two_processes_hammering_one_sled_database_lose_nothing() {
    let scratch = TempDir::new("hammer");
    let db = scratch.join("db");
    let codes: Vec<String> = {
        let store = SledStore::open(&db).unwrap();
        let (policy, key) = (policy(), key());
        let params = TotpParams {
            algorithm: hotp::Algorithm::Sha1,
            digits: 6,
            period: 30,
        };
        let new = Engine::new(&policy, &key, &store)
            .provision_totp(
                "alice",
                &SecretBytes::new(vec![9; 20]),
                params,
                T0,
                &mut SeededRandom::new(3),
            )
            .unwrap();
        store.flush().unwrap();
        new.recovery_codes
            .iter()
            .map(|c| c.expose().to_owned())
            .collect()
    };
    assert_eq!(codes.len(), 50);
    // Let sled's background threads let go of the lock before the children start.
    std::thread::sleep(Duration::from_millis(200));
    let children: Vec<_> = [&codes[..ROUNDS], &codes[ROUNDS..]]
        .iter()
        .map(|share| {
            Command::new(std::env::current_exe().unwrap())
                .args([
                    "--exact",
                    "concurrency::hammer_child",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env(CHILD_ENV, &db)
                .env("PLANASONIX_HAMMER_CODES", share.join(","))
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut child in children {
        assert!(
            child.wait().unwrap().success(),
            "a hammering process failed"
        );
    }
    let store = SledStore::open_waiting(&db, Duration::from_secs(5)).unwrap();
    let counter = store.get("counter").unwrap().unwrap();
    assert_eq!(
        u64::from_be_bytes(counter.value[..8].try_into().unwrap()),
        2 * ROUNDS as u64
    );
    let (policy, key) = (policy(), key());
    let st = Engine::new(&policy, &key, &store)
        .status("alice", T0)
        .unwrap();
    assert_eq!(st.recovery_remaining, 0, "every spent code stays spent");
    drop(store);
    let _ = std::fs::remove_dir_all(&db);
}

#[test]
fn a_held_database_reports_busy_after_the_wait() {
    let scratch = TempDir::new("busy");
    let db = scratch.join("db");
    let _held = SledStore::open(&db).unwrap();
    // sled's lock is per process (flock), so the holder must be another process.
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "concurrency::busy_child", "--nocapture"])
        .env("PLANASONIX_BUSY_DB", &db)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("BUSY: database busy"), "{text}");
    drop(_held);
    let _ = std::fs::remove_dir_all(&db);
}

/// Runs only as a child of the test above.
#[test]
fn busy_child() {
    if let Ok(db) = std::env::var("PLANASONIX_BUSY_DB") {
        let err = SledStore::open_waiting(Path::new(&db), Duration::from_millis(300)).unwrap_err();
        assert_eq!(err, StoreError::Busy);
        println!("BUSY: {err}");
    }
}
