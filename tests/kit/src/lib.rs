//! # planasonix-testkit
//!
//! What the test suites of the native crate and the doors share: temporary
//! directories that clean up ([`TempDir`]), an engine over an in-memory store
//! with recording delivery and audit ([`Fixture`]), the store contract every
//! [`planasonix_core::Store`] must meet ([`check_store`]), the paths of the
//! checked-in fixtures ([`fixture`]), real, leased Unix accounts for the
//! tests that go through NSS ([`accounts`]), and private, real PostgreSQL
//! clusters with TLS for the fleet store ([`postgres`]), and the WebAssembly
//! components built by the harness ([`component`]), test certificates ([`tls`]),
//! a fake SMS gateway ([`gateway`]), and running the CLI
//! against one simulated host's files ([`cli`]). Test code only: never
//! a dependency of a shipped crate.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod accounts;
pub mod cli;
pub mod component;
mod engine;
pub mod gateway;
pub mod postgres;
mod temp;
pub mod tls;

pub use engine::*;
pub use planasonix_core::testing::check_store;
pub use temp::TempDir;

/// The path of the checked-in fixture `name` (under `tests/fixtures/`).
pub fn fixture(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures")
        .join(name)
}
