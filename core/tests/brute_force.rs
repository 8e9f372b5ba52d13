//! Brute force: 100,000 guessed codes against one user, attacker-chosen and
//! uniformly random (a real attacker's best strategy against TOTP), spread
//! over simulated time. None may get in; the lockout must bound how many
//! guesses are even looked at; the real user gets in once the lock ends.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{code_at, ctx, enroll, Fixture, T0};
use planasonix_core::*;
use std::time::Duration;

const GUESSES: u64 = 100_000;
/// Simulated time between guesses: 100,000 guesses span about 11.5 days.
const PACE: Duration = Duration::from_secs(10);

#[test]
fn a_hundred_thousand_guesses_get_nowhere_and_the_user_still_gets_in() {
    let f = Fixture::new(""); // defaults: 5 failures in 15 min lock for 15 min
    let (secret, recovery) = enroll(&f, "alice", T0);
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
        let live = [now.0 - 30, now.0, now.0 + 30].map(|t| code_at(&secret, UnixTime(t)));
        if live.contains(&guess) || recovery.contains(&guess) {
            continue;
        }
        match e.verify("alice", guess.as_bytes(), &ctx(), now, &mut rng) {
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
    let lock_events = f
        .log
        .lock()
        .unwrap()
        .iter()
        .filter(|ev| matches!(ev.kind, AuditKind::Locked { .. }))
        .count();
    // 5 guesses per 15-minute lock: about 1 in 18 guesses at 10 s apart is
    // even looked at; the rest meet the lock.
    let elapsed = now.since(T0).as_secs();
    let max_evaluated = 5 * (elapsed / (15 * 60) + 1);
    println!(
        "{GUESSES} guesses over {} days: {evaluated} evaluated, {locked} refused by the lock, {lock_events} locks",
        elapsed / 86_400
    );
    assert!(
        evaluated <= max_evaluated,
        "{evaluated} evaluated > {max_evaluated}"
    );
    assert!(locked > GUESSES * 9 / 10, "the lock refused only {locked}");
    assert!(lock_events > 0);

    // Still locked right after the last guess; the user gets in once the lock ends.
    let until = match e.status("alice", now).unwrap().locked_until {
        Some(until) => until,
        None => now,
    };
    let after = until.plus(Duration::from_secs(30));
    let v = e
        .verify(
            "alice",
            code_at(&secret, after).as_bytes(),
            &ctx(),
            after,
            &mut rng,
        )
        .unwrap();
    assert!(matches!(v, Verification::Accepted { .. }), "{v:?}");
    // And the recovery codes survived the guessing, all of them.
    assert_eq!(e.status("alice", after).unwrap().recovery_remaining, 10);
}
