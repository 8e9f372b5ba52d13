//! Native adapters: what a Linux host hands the engine.
//!
//! The engine itself never touches the OS; the PAM module, the CLI and the
//! wasmtime host pick these up and pass them in.

mod database;
mod file_trail;
mod keyfile;
mod os;
mod remote_store;
mod sled_store;
mod store_service;
mod wire;

pub use database::{socket_beside, transaction};
pub use file_trail::FileTrail;
pub use keyfile::{load_key_file, KeyFileError};
pub use os::{now, OsRandom};
pub use remote_store::RemoteStore;
pub use sled_store::{SledStore, DEFAULT_BUSY_WAIT, MIN_FREE_BYTES};
pub use store_service::{StoreService, IDLE_TIMEOUT, MAX_CONNECTIONS};
