//! The CLI's integration tests (the real `planasonix` binary), one test
//! binary with a module per file (linked once, the shared setup in
//! `common/` compiled once): `cargo test -p planasonix --test integration
//! [MODULE::]`.
// Test code: a failed expectation should stop the test loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

mod audit_output;
mod deliver;
mod doctor;
mod dumpable;
mod enroll;
mod errors;
mod help;
mod import;
mod init;
mod secrets_off_argv;
mod store;
