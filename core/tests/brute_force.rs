//! Brute force: 100,000 guessed codes against one user, attacker-chosen and
//! uniformly random (a real attacker's best strategy against TOTP), spread
//! over simulated time, from one remote address or from a new address out of
//! a thousand at every guess. None may get in; the lockout must bound how many
//! guesses are even looked at (per remote, and over all remotes together); the
//! real user gets in from elsewhere at once, or everywhere once the lock ends.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common::{code_at, ctx, enroll, Fixture, T0};
use planasonix_core::*;
use std::time::Duration;

const GUESSES: u64 = 100_000;
/// Simulated time between guesses: 100,000 guesses span about 11.5 days.
const PACE: Duration = Duration::from_secs(10);

/// What the guessing came to.
struct Outcome {
    evaluated: u64,
    locked: u64,
    remote_locks: usize,
    user_locks: usize,
    now: UnixTime,
}

/// Runs the guesses; `remote` picks the address of guess `i`.
fn guess(
    f: &Fixture,
    secret: &str,
    recovery: &[String],
    mut remote: impl FnMut(u64, &mut SeededRandom) -> Option<String>,
) -> Outcome {
    let e = f.engine();
    let mut rng = SeededRandom::new(0xB7F0);
    let mut now = T0.plus(Duration::from_secs(60));
    let (mut evaluated, mut locked) = (0u64, 0u64);
    for i in 0..GUESSES {
        // Half six-digit TOTP guesses, half recovery-code guesses.
        let mut bytes = [0u8; 8];
        rng.fill(&mut bytes).unwrap();
        let guess = if i % 2 == 0 {
            format!("{:06}", u64::from_le_bytes(bytes) % 1_000_000)
        } else {
            let alphabet = b"23456789ABCDEFGHJKMNPQRSTVWXYZ";
            let code: String = bytes
                .iter()
                .chain(&bytes[..2])
                .map(|b| alphabet[usize::from(*b) % alphabet.len()] as char)
                .collect();
            format!("{}-{}", &code[..5], &code[5..])
        };
        // A guess that happens to be right now is the real code, which a
        // guesser cannot know; skip it so that "none accepted" is meaningful.
        let live = [now.0 - 30, now.0, now.0 + 30].map(|t| code_at(secret, UnixTime(t)));
        if live.contains(&guess) || recovery.contains(&guess) {
            continue;
        }
        let from = Context {
            remote: remote(i, &mut rng),
            ..ctx()
        };
        match e.verify("alice", guess.as_bytes(), &from, now, &mut rng) {
            Ok(Verification::Accepted { .. }) => panic!("guess {i} ({guess}) was accepted"),
            Ok(Verification::Locked { until }) => {
                locked += 1;
                assert!(until > now);
            }
            Ok(Verification::Rejected { .. } | Verification::Replayed { .. }) => evaluated += 1,
            Ok(other) => panic!("unexpected {other:?}"),
            Err(Error::Input(_)) => panic!("well-formed guess {guess} refused as input"),
            Err(other) => panic!("guess {i}: {other}"),
        }
        now = now.plus(PACE);
    }
    let log = f.log.lock().unwrap();
    let count = |remote_lock: bool| {
        log.iter()
            .filter(|ev| match ev.kind {
                AuditKind::RemoteLocked { .. } => remote_lock,
                AuditKind::Locked { .. } => !remote_lock,
                _ => false,
            })
            .count()
    };
    Outcome {
        evaluated,
        locked,
        remote_locks: count(true),
        user_locks: count(false),
        now,
    }
}

/// The right code from `remote` at `at`.
fn real_user(f: &Fixture, secret: &str, remote: &str, at: UnixTime) -> Verification {
    let from = Context {
        remote: Some(remote.into()),
        ..ctx()
    };
    f.engine()
        .verify(
            "alice",
            code_at(secret, at).as_bytes(),
            &from,
            at,
            &mut SeededRandom::new(7),
        )
        .unwrap()
}

#[test]
fn a_hundred_thousand_guesses_from_one_remote_get_nowhere_and_the_user_still_gets_in() {
    let f = Fixture::new(""); // defaults: 5 failures from one remote in 15 min lock it for 15 min
    let (secret, recovery) = enroll(&f, "alice", T0);
    let o = guess(&f, &secret, &recovery, |_, _| Some("198.51.100.7".into()));
    // 5 guesses per 15-minute lock: about 1 in 18 guesses at 10 s apart is
    // even looked at; the rest meet the lock.
    let elapsed = o.now.since(T0).as_secs();
    let max_evaluated = 5 * (elapsed / (15 * 60) + 1);
    println!(
        "one remote: {GUESSES} guesses over {} days: {} evaluated, {} refused by the lock, {} remote locks, {} user locks",
        elapsed / 86_400, o.evaluated, o.locked, o.remote_locks, o.user_locks
    );
    assert!(
        o.evaluated <= max_evaluated,
        "{} evaluated > {max_evaluated}",
        o.evaluated
    );
    assert!(
        o.locked > GUESSES * 9 / 10,
        "the lock refused only {}",
        o.locked
    );
    assert!(o.remote_locks > 0);
    assert_eq!(o.user_locks, 0, "one remote locked the user everywhere");

    // The guesser's address is locked; the real user, elsewhere, gets in now.
    let v = real_user(&f, &secret, "198.51.100.7", o.now);
    assert!(matches!(v, Verification::Locked { .. }), "{v:?}");
    let v = real_user(&f, &secret, "192.0.2.10", o.now);
    assert!(matches!(v, Verification::Accepted { .. }), "{v:?}");
    // And the recovery codes survived the guessing, all of them.
    let status = f.engine().status("alice", o.now).unwrap();
    assert_eq!(status.recovery_remaining, 10);
}

#[test]
fn a_hundred_thousand_guesses_from_a_thousand_remotes_get_nowhere_and_the_user_still_gets_in() {
    let f = Fixture::new(""); // defaults: 20 failures from all remotes in 15 min lock the user
    let (secret, recovery) = enroll(&f, "alice", T0);
    // A new address out of a thousand (IPv4 and IPv6) at every guess.
    let o = guess(&f, &secret, &recovery, |_, rng| {
        let mut b = [0u8; 2];
        rng.fill(&mut b).unwrap();
        let n = u16::from_le_bytes(b) % 1000;
        Some(if n % 2 == 0 {
            format!("203.0.113.{}", n % 250)
        } else {
            format!("2001:db8::{n:x}")
        })
    });
    // At most 20 guesses per 15-minute lock over all the addresses together.
    let elapsed = o.now.since(T0).as_secs();
    let max_evaluated = 20 * (elapsed / (15 * 60) + 1);
    println!(
        "1000 remotes: {GUESSES} guesses over {} days: {} evaluated, {} refused by the lock, {} remote locks, {} user locks",
        elapsed / 86_400, o.evaluated, o.locked, o.remote_locks, o.user_locks
    );
    assert!(
        o.evaluated <= max_evaluated,
        "{} evaluated > {max_evaluated}",
        o.evaluated
    );
    assert!(
        o.locked > GUESSES * 3 / 4,
        "the lock refused only {}",
        o.locked
    );
    assert!(o.user_locks > 0);

    // Still locked right after the last guess; the user gets in once the lock ends.
    let e = f.engine();
    let until = e
        .status("alice", o.now)
        .unwrap()
        .locked_until
        .unwrap_or(o.now);
    let after = until.plus(Duration::from_secs(30));
    let v = real_user(&f, &secret, "192.0.2.10", after);
    assert!(matches!(v, Verification::Accepted { .. }), "{v:?}");
    assert_eq!(e.status("alice", after).unwrap().recovery_remaining, 10);
}
