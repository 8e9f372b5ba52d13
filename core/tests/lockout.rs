//! The lockout throttles a failing remote before it locks the user: wrong
//! codes from one address lock that address out for the user, a right code
//! from another address still gets in, and failures from all addresses
//! together lock the user everywhere (`[lockout]` in the policy).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common::{code_at, enroll, Fixture, T0};
use planasonix_core::*;
use std::time::Duration;

fn from(remote: Option<&str>) -> Context {
    Context {
        service: "sshd".into(),
        remote: remote.map(str::to_owned),
        action: None,
        session: None,
    }
}

fn subject() -> Subject {
    Subject {
        user: "alice".into(),
        groups: vec![],
        amr: vec![],
    }
}

fn wrong(e: &Engine<'_>, remote: Option<&str>, now: UnixTime) -> Verification {
    e.verify(
        "alice",
        b"000000",
        &from(remote),
        now,
        &mut SeededRandom::new(1),
    )
    .unwrap()
}

fn right(e: &Engine<'_>, secret: &str, remote: Option<&str>, now: UnixTime) -> Verification {
    e.verify(
        "alice",
        code_at(secret, now).as_bytes(),
        &from(remote),
        now,
        &mut SeededRandom::new(2),
    )
    .unwrap()
}

const A: Option<&str> = Some("192.0.2.66");
const B: Option<&str> = Some("192.0.2.10");

/// A secret whose codes at the test times are never "000000".
fn setup(policy: &str) -> (Fixture, String, UnixTime) {
    let f = Fixture::new(policy);
    let (secret, _) = enroll(&f, "alice", T0);
    let now = T0.plus(Duration::from_secs(60));
    for t in 0..400 {
        assert_ne!(
            code_at(&secret, now.plus(Duration::from_secs(t * 30))),
            "000000"
        );
    }
    (f, secret, now)
}

#[test]
fn wrong_codes_from_one_remote_lock_that_remote_only() {
    let (f, secret, mut now) = setup("");
    let e = f.engine();
    for left in (1..5).rev() {
        assert_eq!(
            wrong(&e, A, now),
            Verification::Rejected {
                failures_left: left
            }
        );
        now = now.plus(Duration::from_secs(1));
    }
    let until = now.plus(Duration::from_secs(900));
    assert_eq!(wrong(&e, A, now), Verification::Locked { until });

    // A stays locked, even with the right code, and its logins are refused.
    now = now.plus(Duration::from_secs(31));
    assert_eq!(right(&e, &secret, A, now), Verification::Locked { until });
    assert_eq!(
        e.decide(&subject(), &from(A), now).unwrap(),
        Decision::Denied(Denied::LockedOut { until })
    );

    // B is not locked: asked for a code, and the right one gets in.
    assert!(matches!(
        e.decide(&subject(), &from(B), now).unwrap(),
        Decision::Required { .. }
    ));
    assert!(matches!(
        right(&e, &secret, B, now),
        Verification::Accepted { .. }
    ));
    // So does a local login (no remote).
    now = now.plus(Duration::from_secs(30));
    assert!(matches!(
        right(&e, &secret, None, now),
        Verification::Accepted { .. }
    ));

    // The remote lock is audited as such, with its remote; no user-wide lock.
    let log = f.log.lock().unwrap();
    let remote_locks: Vec<_> = log
        .iter()
        .filter(|ev| matches!(ev.kind, AuditKind::RemoteLocked { .. }))
        .collect();
    assert_eq!(remote_locks.len(), 1);
    assert_eq!(remote_locks[0].remote.as_deref(), A);
    assert_eq!(remote_locks[0].kind, AuditKind::RemoteLocked { until });
    assert!(!log
        .iter()
        .any(|ev| matches!(ev.kind, AuditKind::Locked { .. })));
    drop(log);
    assert_eq!(e.status("alice", now).unwrap().locked_until, None);

    // Once the lock ends, A gets in with the right code.
    let after = until.plus(Duration::from_secs(1));
    assert!(matches!(
        right(&e, &secret, A, after),
        Verification::Accepted { .. }
    ));
}

#[test]
fn local_logins_count_as_one_remote() {
    let (f, secret, mut now) = setup("");
    let e = f.engine();
    for _ in 0..4 {
        assert!(matches!(
            wrong(&e, None, now),
            Verification::Rejected { .. }
        ));
        now = now.plus(Duration::from_secs(1));
    }
    assert!(matches!(wrong(&e, None, now), Verification::Locked { .. }));
    now = now.plus(Duration::from_secs(30));
    assert!(matches!(
        right(&e, &secret, None, now),
        Verification::Locked { .. }
    ));
    assert!(matches!(
        right(&e, &secret, B, now),
        Verification::Accepted { .. }
    ));
}

#[test]
fn failures_from_all_remotes_together_lock_the_user_everywhere() {
    let (f, secret, mut now) = setup("[lockout]\nmax_failures = 3\nmax_failures_all_remotes = 7\n");
    let e = f.engine();
    // Two wrong codes each from three addresses, then one from a fourth: the
    // seventh failure overall locks the user.
    let mut left = Vec::new();
    let mut at = now;
    for i in 0..7 {
        let remote = format!("198.51.100.{}", i / 2);
        at = now;
        left.push(wrong(&e, Some(&remote), now));
        now = now.plus(Duration::from_secs(1));
    }
    // failures_left is the smaller of the remote's and the user's allowance.
    let rejected = |n| Verification::Rejected { failures_left: n };
    assert_eq!(left[..6], [2, 1, 2, 1, 2, 1].map(rejected));
    let until = at.plus(Duration::from_secs(900));
    assert_eq!(left[6], Verification::Locked { until });

    // Everyone is locked out now: B, a local login, a remote never seen.
    now = now.plus(Duration::from_secs(30));
    for remote in [B, None, Some("203.0.113.5")] {
        assert_eq!(
            right(&e, &secret, remote, now),
            Verification::Locked { until }
        );
    }
    assert_eq!(e.status("alice", now).unwrap().locked_until, Some(until));
    assert_eq!(
        f.events()
            .iter()
            .filter(|k| matches!(k, AuditKind::Locked { .. }))
            .count(),
        1
    );
    let after = until.plus(Duration::from_secs(1));
    assert!(matches!(
        right(&e, &secret, B, after),
        Verification::Accepted { .. }
    ));
}

#[test]
fn failures_left_is_the_smaller_allowance() {
    let (f, _, mut now) = setup("[lockout]\nmax_failures = 5\nmax_failures_all_remotes = 6\n");
    let e = f.engine();
    for _ in 0..4 {
        wrong(&e, A, now);
        now = now.plus(Duration::from_secs(1));
    }
    // B's own allowance is 4 more, but only 1 more failure is left overall.
    assert_eq!(
        wrong(&e, B, now),
        Verification::Rejected { failures_left: 1 }
    );
}

#[test]
fn a_right_code_clears_its_remotes_failures_but_not_the_users_count() {
    let (f, secret, mut now) = setup("");
    let e = f.engine();
    for _ in 0..4 {
        wrong(&e, B, now);
        now = now.plus(Duration::from_secs(1));
    }
    assert!(matches!(
        right(&e, &secret, B, now),
        Verification::Accepted { .. }
    ));
    now = now.plus(Duration::from_secs(1));
    // B starts afresh...
    assert_eq!(
        wrong(&e, B, now),
        Verification::Rejected { failures_left: 4 }
    );
    // ...while the count over all remotes keeps every failure in the window.
    assert_eq!(e.status("alice", now).unwrap().recent_failures, 5);
}

#[test]
fn many_remotes_cannot_grow_the_record() {
    let (f, _, mut now) =
        setup("[lockout]\nmax_failures = 1\nmax_failures_all_remotes = 1000\nduration = \"30d\"\n");
    let e = f.engine();
    let mut sizes = Vec::new();
    for i in 0..300u32 {
        let remote = format!("2001:db8::{i:x}");
        assert!(matches!(
            wrong(&e, Some(&remote), now),
            Verification::Locked { .. }
        ));
        now = now.plus(Duration::from_secs(1));
        if i % 100 == 99 {
            let v = f.store.get("user/alice").unwrap().unwrap();
            sizes.push(v.value.len());
        }
    }
    // The stored record stops growing once the per-remote table is full
    // (the user-wide failures in the window are bounded by the policy).
    let growth = sizes[2] - sizes[1];
    assert!(
        growth <= 100 * 12,
        "record grew by {growth} bytes over 100 more remotes: {sizes:?}"
    );
}

#[test]
fn an_old_record_with_a_user_wide_lock_still_decodes_and_locks() {
    let json = br#"{"schema":2,"lockout":{"failures":[1800000000,1800000001],"locked_until":1800000900},"audit_next":3}"#;
    let rec = record::UserRecord::decode("user/alice", json).unwrap();
    let now = UnixTime(1_800_000_100);
    assert_eq!(rec.locked_until(now), Some(UnixTime(1_800_000_900)));
    assert_eq!(
        rec.locked_until_from(Some("192.0.2.10"), now),
        Some(UnixTime(1_800_000_900))
    );
    assert_eq!(rec.lockout.failures.len(), 2);
    assert!(rec.lockout.remotes.is_empty());
    // And a record written now reads back the same.
    let again = record::UserRecord::decode("user/alice", &rec.encode()).unwrap();
    assert_eq!(again, rec);
}
