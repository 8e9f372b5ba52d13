//! Replays every committed input of the `pam_conversation` fuzz target (the
//! seed corpus `fuzz/seeds/pam_conversation/` and the crash inputs
//! `fuzz/regressions/pam_conversation/`) through the target's own check,
//! included by path. See fuzz/README.md; the core's targets are replayed by
//! core/tests/fuzz_regressions.rs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../fuzz/src/pam_checks.rs"]
mod pam_checks;

#[path = "../../fuzz/src/replay.rs"]
mod replay;

#[test]
fn pam_conversation() {
    replay::replay("pam_conversation", pam_checks::pam_conversation);
}

#[test]
fn the_fixture_knows_the_right_answers() {
    // The check asserts verdicts against these; they must be real codes.
    let fx = pam_checks::fixture().unwrap();
    assert_eq!(fx.alice_fresh.len(), 1);
    assert_eq!(fx.alice_sms.len(), 8);
    assert_eq!(fx.alice_recovery.len(), 11);
    // The right answers pass through the check without tripping it.
    for (prompt, answer) in [
        (0u8, fx.alice_fresh[0].as_str()),
        (0, fx.alice_sms.as_str()),
        (0, fx.alice_recovery.as_str()),
        (0, fx.alice_replayed[0].as_str()),
        (1, fx.bob_confirm[1].as_str()),
        (2, " Yes "),
    ] {
        let mut data = vec![prompt];
        data.extend_from_slice(answer.as_bytes());
        pam_checks::pam_conversation(&data);
    }
}
