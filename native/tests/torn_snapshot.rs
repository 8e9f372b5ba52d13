//! A process killed while sled 0.34 writes a snapshot leaves a
//! `snap.<lsn>.generating` file behind: empty, or cut short. sled reads the
//! newest snapshot file it finds, `.generating` ones included, and then
//! refuses the whole database as corrupt, for good: every later login fails
//! closed. (Found by pam-module/tests/crash.rs, which SIGKILLs logins.)
//! The data itself is in sled's log, so the store sets the torn file aside
//! and opens; these tests leave such a file and check that nothing is lost.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use planasonix_core::store::Cas;
use planasonix_core::Store;
use planasonix_native::SledStore;
use planasonix_testkit::TempDir;
use std::path::{Path, PathBuf};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(3);

fn write(db: &Path, key: &str, value: &[u8]) {
    let cas = SledStore::transaction(db, WAIT, |s| s.compare_and_swap(key, None, Some(value)));
    assert!(matches!(cas, Ok(Cas::Swapped(_))), "{cas:?}");
}

fn read(db: &Path, key: &str) -> Vec<u8> {
    SledStore::transaction(db, WAIT, |s| s.get(key))
        .unwrap_or_else(|e| panic!("the database no longer opens: {e}"))
        .unwrap_or_else(|| panic!("{key} was lost"))
        .value
}

/// The name sled gives the next snapshot: one past the newest one there.
fn next_snapshot_name(db: &Path) -> PathBuf {
    let newest = std::fs::read_dir(db)
        .unwrap()
        .filter_map(|e| e.unwrap().file_name().into_string().ok())
        .filter_map(|n| u64::from_str_radix(n.strip_prefix("snap.")?, 16).ok())
        .max()
        .unwrap_or(0);
    db.join(format!("snap.{:016X}.generating", newest + 1))
}

fn survives_a_torn_snapshot(name: &str, torn: &[u8]) {
    let scratch = TempDir::new(name);
    let db = scratch.join("db");
    write(&db, "user/alice", b"enrolled");
    write(&db, "user/bob", b"enrolled too");
    let left = next_snapshot_name(&db);
    std::fs::write(&left, torn).unwrap();

    assert_eq!(read(&db, "user/alice"), b"enrolled");
    assert_eq!(read(&db, "user/bob"), b"enrolled too");
    assert!(!left.exists(), "the torn snapshot file is still there");
    // Writes after the recovery land and survive the next open.
    write(&db, "user/carol", b"new");
    assert_eq!(read(&db, "user/carol"), b"new");
    assert_eq!(read(&db, "user/alice"), b"enrolled");
}

#[test]
fn an_empty_snapshot_left_by_a_kill_loses_nothing() {
    survives_a_torn_snapshot("torn-empty", b"");
}

#[test]
fn a_half_written_snapshot_left_by_a_kill_loses_nothing() {
    survives_a_torn_snapshot("torn-half", &[0x5a; 300]);
}

#[test]
fn a_long_lived_handle_opens_past_a_torn_snapshot_too() {
    let scratch = TempDir::new("torn-long");
    let db = scratch.join("db");
    write(&db, "user/alice", b"enrolled");
    std::fs::write(next_snapshot_name(&db), b"").unwrap();
    let store = SledStore::open(&db).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(store.get("user/alice").unwrap().unwrap().value, b"enrolled");
}

#[test]
fn logins_racing_after_a_torn_snapshot_all_get_in() {
    // After a crash, the logins queued behind it open the database at once;
    // every one of them finds the torn file, and none may fail for it.
    for round in 0..5 {
        let scratch = TempDir::new(&format!("torn-race-{round}"));
        let db = scratch.join("db");
        write(&db, "user/alice", b"enrolled");
        std::fs::write(next_snapshot_name(&db), b"").unwrap();
        let opened: Vec<_> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|_| {
                    s.spawn(|| {
                        SledStore::transaction(&db, Duration::from_secs(10), |st| {
                            st.get("user/alice")
                        })
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for o in opened {
            assert_eq!(
                o.unwrap_or_else(|e| panic!("round {round}: {e}"))
                    .unwrap()
                    .value,
                b"enrolled"
            );
        }
    }
}
