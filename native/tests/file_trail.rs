//! The audit trail as a file beside the database: what the PAM module and the
//! CLI use.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use planasonix_core::*;
use planasonix_native::FileTrail;
use planasonix_testkit::{ctx, enroll, Fixture, TempDir, T0};
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

fn event(user: &str, at: u64) -> AuditEvent {
    AuditEvent {
        at: UnixTime(at),
        user: user.into(),
        service: Some("sshd".into()),
        remote: None,
        host: None,
        kind: AuditKind::Unlocked,
    }
}

#[test]
fn engine_events_go_to_the_file_and_not_the_store() {
    let dir = TempDir::new("trail-engine");
    let trail = FileTrail::beside(&dir.join("db"));
    let f = Fixture::new("[audit]\nkeep_per_user = 10\n");
    let (secret, codes) = enroll(&f, "alice", T0);
    let e = f.engine().with_audit_trail(&trail);
    for i in 0..15u64 {
        let _ = e.verify(
            "alice",
            b"000000",
            &ctx(),
            T0.plus(Duration::from_secs(i)),
            &mut SeededRandom::new(i),
        );
        e.admin_unlock("alice", T0.plus(Duration::from_secs(i)))
            .unwrap();
    }
    assert_eq!(trail.path(), dir.join("db.audit.jsonl"));
    let mode = std::fs::metadata(trail.path())
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
    let log = e.audit_log(Some("alice"), None).unwrap();
    assert_eq!(log.len(), 10, "the policy's keep_per_user applies");
    assert_eq!(log.last().unwrap().kind, AuditKind::Unlocked);
    assert_eq!(log.last().unwrap().at, T0.plus(Duration::from_secs(14)));
    // The events written by this engine are in the file only (enrollment's
    // went to the fixture's default trail in the store).
    let text = std::fs::read_to_string(trail.path()).unwrap();
    assert_eq!(text.lines().count(), 30);
    assert!(!text.contains(&secret) && !text.contains(&codes[0]));
    let in_store = f.store.keys("audit/alice/").unwrap().len();
    assert!(in_store <= 3, "{in_store} events in the store");
}

#[test]
fn a_line_cut_short_by_a_crash_loses_only_itself() {
    let dir = TempDir::new("trail-torn");
    let trail = FileTrail::beside(&dir.join("db"));
    trail.append("alice", 0, &[event("alice", 1)]).unwrap();
    // A crash mid-write leaves half a line without its newline.
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(trail.path())
        .unwrap();
    f.write_all(b"{\"at\":2,\"user\":\"ali").unwrap();
    drop(f);
    trail.append("alice", 2, &[event("alice", 3)]).unwrap();
    trail.append("bob", 0, &[event("bob", 4)]).unwrap();
    let all = trail.events(None).unwrap();
    let times: Vec<u64> = all.iter().map(|e| e.at.0).collect();
    assert_eq!(times, vec![1, 3, 4]);
    assert_eq!(trail.events(Some("bob")).unwrap().len(), 1);
}

#[test]
fn the_file_rotates_and_stays_bounded() {
    let dir = TempDir::new("trail-rotate");
    let trail = FileTrail::beside(&dir.join("db")).with_max_bytes(2_000);
    for i in 0..200u64 {
        trail.append("alice", i, &[event("alice", i)]).unwrap();
    }
    let current = std::fs::metadata(trail.path()).unwrap().len();
    let rotated = std::fs::metadata(dir.join("db.audit.jsonl.1"))
        .unwrap()
        .len();
    assert!(
        current < 2_200 && rotated < 2_200,
        "{current} and {rotated} bytes"
    );
    let events = trail.events(Some("alice")).unwrap();
    // The newest events survive, in order.
    assert_eq!(events.last().unwrap().at, UnixTime(199));
    assert!(events.windows(2).all(|w| w[0].at < w[1].at));
    assert!(events.len() < 200);
}

#[test]
fn an_unwritable_trail_is_an_error_naming_the_file() {
    let dir = TempDir::new("trail-unwritable");
    // A directory where the file should be: no privilege lets that be opened.
    std::fs::create_dir(dir.join("db.audit.jsonl")).unwrap();
    let err = FileTrail::beside(&dir.join("db"))
        .append("alice", 0, &[event("alice", 1)])
        .unwrap_err();
    assert!(err.to_string().contains("db.audit.jsonl"), "{err}");
}

/// Lines of one file as (writer, sequence) pairs, in file order.
fn lines_of(path: &std::path::Path) -> Vec<(String, u64)> {
    match std::fs::read_to_string(path) {
        Ok(text) => text
            .lines()
            .filter(|l| !l.is_empty())
            .map(|l| {
                let e: AuditEvent = serde_json::from_str(l).unwrap();
                (e.user, e.at.0)
            })
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => panic!("{}: {e}", path.display()),
    }
}

const APPENDER_ENV: &str = "PLANASONIX_TRAIL_APPENDER";
const THREADS: u64 = 4;

/// Appends `count` events as each of [`THREADS`] writers named
/// `<prefix>-<thread>`, numbered 0.., all at once.
fn append_in_threads(db: &std::path::Path, max_bytes: u64, prefix: &str, count: u64) {
    let trail = FileTrail::beside(db).with_max_bytes(max_bytes);
    let start = std::sync::Barrier::new(THREADS as usize);
    let failed = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let (trail, start, failed) = (&trail, &start, &failed);
            s.spawn(move || {
                let writer = format!("{prefix}-{t}");
                start.wait();
                for i in 0..count {
                    // A failed append is a lost line: keep going, so the
                    // parent sees what the trail kept, then fail.
                    if let Err(e) = trail.append(&writer, i, &[event(&writer, i)]) {
                        failed.lock().unwrap().push(format!("{writer} {i}: {e}"));
                    }
                }
            });
        }
    });
    let failed = failed.into_inner().unwrap();
    assert!(failed.is_empty(), "appends failed: {failed:?}");
}

/// Runs only as a child of the tests below: one appending process.
#[test]
fn trail_appender_child() {
    if let Ok(spec) = std::env::var(APPENDER_ENV) {
        let parts: Vec<&str> = spec.split('|').collect();
        let (db, max, prefix, count) = (parts[0], parts[1], parts[2], parts[3]);
        append_in_threads(
            std::path::Path::new(db),
            max.parse().unwrap(),
            prefix,
            count.parse().unwrap(),
        );
    }
}

const PROCESSES: u64 = 3;

/// [`PROCESSES`] processes of [`THREADS`] threads each append `count` lines;
/// returns the writers' names and what failed appenders said.
fn append_from_processes(
    db: &std::path::Path,
    max_bytes: u64,
    count: u64,
) -> (Vec<String>, Vec<String>) {
    let children: Vec<_> = (0..PROCESSES)
        .map(|p| {
            std::process::Command::new(std::env::current_exe().unwrap())
                .args([
                    "--exact",
                    "file_trail::trail_appender_child",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env(
                    APPENDER_ENV,
                    format!("{}|{max_bytes}|p{p}|{count}", db.display()),
                )
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let failures = children
        .into_iter()
        .map(|child| child.wait_with_output().unwrap())
        .filter(|out| !out.status.success())
        .map(|out| String::from_utf8_lossy(&out.stderr).into_owned())
        .collect();
    let writers = (0..PROCESSES)
        .flat_map(|p| (0..THREADS).map(move |t| format!("p{p}-{t}")))
        .collect();
    (writers, failures)
}

/// The trail's invariant under concurrent appenders, rotation included.
#[test]
fn concurrent_appenders_at_the_limit_lose_no_line() {
    const COUNT: u64 = 150;
    // 1,800 lines of about 75 bytes: one rotation, past the middle. The race
    // is at that one moment, so try it a few times.
    let max_bytes = 100_000;
    for round in 0..4 {
        let dir = TempDir::new(&format!("trail-race-once-{round}"));
        let (writers, failures) = append_from_processes(&dir.join("db"), max_bytes, COUNT);
        let mut kept = lines_of(&dir.join("db.audit.jsonl.1"));
        kept.extend(lines_of(&dir.join("db.audit.jsonl")));
        let size = |name: &str| std::fs::metadata(dir.join(name)).map_or(0, |m| m.len());
        let (rotated, current) = (size("db.audit.jsonl.1"), size("db.audit.jsonl"));
        assert!(rotated >= max_bytes, "rotated at {rotated} bytes");
        assert!(current < max_bytes, "more than one rotation");
        for w in &writers {
            let mine: Vec<u64> = kept.iter().filter(|(u, _)| u == w).map(|l| l.1).collect();
            assert_eq!(
                mine,
                (0..COUNT).collect::<Vec<_>>(),
                "{w}'s lines, in the order kept"
            );
        }
        assert_eq!(kept.len() as u64, PROCESSES * THREADS * COUNT);
        assert!(failures.is_empty(), "{failures:?}");
    }
}

#[test]
fn concurrent_appenders_rotating_often_keep_a_suffix_without_gaps() {
    let dir = TempDir::new("trail-race-often");
    let db = dir.join("db");
    const COUNT: u64 = 200;
    // ~25 lines a file: a rotation every few appends of each writer.
    let max_bytes = 3_000;
    let (writers, failures) = append_from_processes(&db, max_bytes, COUNT);
    let older = lines_of(&dir.join("db.audit.jsonl.1"));
    let current = lines_of(&dir.join("db.audit.jsonl"));
    let rotated = std::fs::metadata(dir.join("db.audit.jsonl.1"))
        .unwrap()
        .len();
    assert!(
        rotated >= max_bytes,
        "the rotated file holds {rotated} bytes: history was dropped early"
    );
    let kept: Vec<_> = older.iter().chain(&current).collect();
    for w in &writers {
        let mine: Vec<u64> = kept.iter().filter(|(u, _)| u == w).map(|l| l.1).collect();
        // Whatever was dropped is older than everything kept: each writer's
        // lines are its last ones, in order, with none missing in between.
        if let Some(first) = mine.first() {
            assert_eq!(
                mine,
                (*first..COUNT).collect::<Vec<_>>(),
                "{w}'s lines, in the order kept"
            );
        }
    }
    // The last line appended of all is some writer's last, and it is kept.
    let (last_writer, last) = current.last().unwrap();
    assert!(writers.contains(last_writer) && *last == COUNT - 1);
    assert!(failures.is_empty(), "{failures:?}");
}

#[test]
fn a_writer_holding_the_lock_delays_others_only_up_to_the_wait() {
    let dir = TempDir::new("trail-held");
    let trail = FileTrail::beside(&dir.join("db"));
    trail.append("alice", 0, &[event("alice", 1)]).unwrap();
    // A stopped process in the middle of an append holds the lock.
    let held = std::fs::File::open(dir.join("db.audit.jsonl.lock")).unwrap();
    held.lock().unwrap();
    let started = std::time::Instant::now();
    let err = trail.append("alice", 1, &[event("alice", 2)]).unwrap_err();
    let waited = started.elapsed();
    assert!(
        waited >= FileTrail::LOCK_WAIT && waited < FileTrail::LOCK_WAIT * 2,
        "{waited:?}"
    );
    assert!(err.to_string().contains("still locked"), "{err}");
    drop(held);
    trail.append("alice", 1, &[event("alice", 3)]).unwrap();
    let times: Vec<u64> = trail.events(None).unwrap().iter().map(|e| e.at.0).collect();
    assert_eq!(times, vec![1, 3]);
}
