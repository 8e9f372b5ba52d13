//! Replays every committed fuzz input through the fuzz targets' own checks:
//! the seed corpus (`fuzz/seeds/<target>/`) and every input that once crashed
//! a target (`fuzz/regressions/<target>/`). The checks are the fuzz crate's
//! source, included by path, so no nightly toolchain or libFuzzer is needed.
//! See fuzz/README.md. The native crate's and the PAM module's targets are
//! replayed by native/tests/fuzz_regressions.rs and
//! pam-module/tests/fuzz_regressions.rs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../fuzz/src/core_checks.rs"]
mod core_checks;

#[path = "../../fuzz/src/replay.rs"]
mod replay;

use replay::replay;

#[test]
fn policy_parse() {
    replay("policy_parse", core_checks::policy_parse);
}

#[test]
fn code_input() {
    replay("code_input", core_checks::code_input);
}

#[test]
fn webauthn_parse() {
    replay("webauthn_parse", core_checks::webauthn_parse);
}

#[test]
fn record_decode() {
    replay("record_decode", core_checks::record_decode);
}
