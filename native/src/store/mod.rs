//! The stores a native process opens.
//!
//! Each implements [`planasonix_core::Store`] (versioned key/value with
//! compare-and-swap) and runs the contract in
//! `planasonix_core::testing::check_store`. Today: [`SledStore`], the embedded
//! single-host database. A shared store for a fleet belongs here beside it, as
//! its own module, chosen by [`crate::transaction`].

mod sled;

pub use self::sled::{SledStore, DEFAULT_BUSY_WAIT, MIN_FREE_BYTES};
