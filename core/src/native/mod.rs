//! Native adapters: what a Linux host hands the engine.
//!
//! The engine itself never touches the OS; the PAM module, the CLI and the
//! wasmtime host pick these up and pass them in.

mod file_trail;
mod keyfile;
mod os;
mod sled_store;

pub use file_trail::FileTrail;
pub use keyfile::{load_key_file, KeyFileError};
pub use os::{now, OsRandom};
pub use sled_store::{SledStore, DEFAULT_BUSY_WAIT};
