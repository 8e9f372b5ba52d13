//! The wasmtime host's integration tests (the real component under wasmtime
//! and under Node.js), one binary with a module per file (linked once):
//! `cargo test -p planasonix-host --test integration [MODULE::]`.
// Test code: a failed expectation should stop the test loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod harness;

mod artifact_cache;
mod component;
mod conformance;
mod gateway;
mod randomness;
mod shared_store;
