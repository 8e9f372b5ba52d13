//! The core's integration tests, one binary with a module per file (linked
//! once, the shared fixtures compiled once): `cargo test -p planasonix-core
//! --test integration [MODULE::]`.
// Test code: a failed expectation should stop the test loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

mod approvals;
mod attestation;
mod brute_force;
mod decisions;
mod flows;
mod fuzz_regressions;
mod import_totp;
mod lockout;
mod oathtool;
mod passkeys;
mod qr_decodes;
mod vectors;
mod webauthn_vectors;
