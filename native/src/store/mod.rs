//! The stores a native process opens.
//!
//! Each implements [`planasonix_core::Store`] (versioned key/value with
//! compare-and-swap) and runs the contract in
//! `planasonix_core::testing::check_store`: [`SledStore`], the embedded
//! single-host database, and (with the `postgres` feature) `PgStore`, the
//! fleet's shared PostgreSQL database. Which one a host uses is its store file
//! ([`crate::store_file`]); [`crate::transaction`] reaches it.

#[cfg(feature = "postgres")]
mod postgres;
mod sled;

#[cfg(feature = "postgres")]
pub use self::postgres::{Copied, Migrated, PgStore, Recorded, SCHEMA_VERSION};
pub use self::sled::{SledStore, DEFAULT_BUSY_WAIT, MIN_FREE_BYTES};
