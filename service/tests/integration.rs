//! The state service's and the PostgreSQL store's integration tests, one
//! binary with a module per file (linked once): `cargo test -p
//! planasonix-service --test integration [MODULE::]`.
// Test code: a failed expectation should stop the test loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod postgres_store;
mod record_integrity;
mod state_service;
