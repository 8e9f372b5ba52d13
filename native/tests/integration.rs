//! The native crate's integration tests, one binary with a module per file
//! (linked once): `cargo test -p planasonix-native --test integration
//! [MODULE::]`. `delivery_status_lost.rs` stays a binary of its own: it
//! ignores SIGCHLD for the whole process, which would take exit statuses
//! from every other test here.
// Test code: a failed expectation should stop the test loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod at_rest;
mod concurrency;
mod file_trail;
mod fuzz_regressions;
mod remembered_reads;
mod torn_snapshot;
