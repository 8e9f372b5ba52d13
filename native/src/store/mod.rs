//! The stores a native process opens.
//!
//! Each implements [`planasonix_core::Store`] (versioned key/value with
//! compare-and-swap) and runs the contract in
//! `planasonix_core::testing::check_store`: [`SledStore`], the embedded
//! single-host database. The fleet's shared PostgreSQL store is
//! `planasonix-service`'s `PgStore`, which the PAM module never links. Which
//! one a host uses is its store file ([`crate::store_file`]);
//! [`crate::transaction`] reaches it.

mod sled;

pub use self::sled::{SledStore, DEFAULT_BUSY_WAIT, MIN_FREE_BYTES};
