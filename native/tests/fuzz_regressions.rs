//! Replays every committed input of the native crate's fuzz target (the
//! state service's wire format) through the target's own check, included by
//! path; see core/tests/fuzz_regressions.rs and fuzz/README.md.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../fuzz/src/native_checks.rs"]
mod native_checks;

#[path = "../../fuzz/src/replay.rs"]
mod replay;

#[test]
fn service_frame() {
    replay::replay("service_frame", native_checks::service_frame);
}
