//! The audit trail as a file beside the database: what the PAM module and the
//! CLI use.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{ctx, enroll, temp_dir, Fixture, T0};
use planasonix_core::native::FileTrail;
use planasonix_core::*;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

fn event(user: &str, at: u64) -> AuditEvent {
    AuditEvent {
        at: UnixTime(at),
        user: user.into(),
        service: Some("sshd".into()),
        remote: None,
        kind: AuditKind::Unlocked,
    }
}

#[test]
fn engine_events_go_to_the_file_and_not_the_store() {
    let dir = temp_dir("trail-engine");
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
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_line_cut_short_by_a_crash_loses_only_itself() {
    let dir = temp_dir("trail-torn");
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
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_file_rotates_and_stays_bounded() {
    let dir = temp_dir("trail-rotate");
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
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_unwritable_trail_is_an_error_naming_the_file() {
    let dir = temp_dir("trail-unwritable");
    // A directory where the file should be: no privilege lets that be opened.
    std::fs::create_dir(dir.join("db.audit.jsonl")).unwrap();
    let err = FileTrail::beside(&dir.join("db"))
        .append("alice", 0, &[event("alice", 1)])
        .unwrap_err();
    assert!(err.to_string().contains("db.audit.jsonl"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}
