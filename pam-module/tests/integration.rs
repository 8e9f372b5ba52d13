//! The PAM module's integration tests (the real module under real libpam,
//! sshd, crashes, the fleet, the identity provider), one binary with a
//! module per file (linked once, the shared harness in `common/` compiled
//! once): `cargo test -p pam_planasonix --test integration [MODULE::]`.
// Test code: a failed expectation should stop the test loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

mod aliases;
mod concurrency;
mod crash;
mod doctor_libpam;
mod el_stack;
mod faults;
mod fleet;
mod fleet_idp;
mod full_disk;
mod fuzz_regressions;
mod idp;
mod lockout;
mod log_lines;
mod pam_stack;
mod sms_gateway;
mod sshd;
mod state_service;
mod trust;
mod upgrade;
