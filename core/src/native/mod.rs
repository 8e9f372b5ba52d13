//! Native adapters: what a Linux host hands the engine.
//!
//! The engine itself never touches the OS; the PAM module, the CLI and the
//! wasmtime host pick these up and pass them in.

pub mod accounts;
mod database;
mod file_trail;
mod keyfile;
mod os;
mod policy_file;
mod remote_store;
mod sled_store;
mod store_service;
mod trust;
mod wire;

pub use database::{socket_beside, transaction};
pub use file_trail::FileTrail;
pub use keyfile::{load_key_file, KeyFileError};
pub use os::{now, OsRandom};
pub use policy_file::{read_policy_file, PolicyFileError};
pub use remote_store::RemoteStore;
pub use sled_store::{SledStore, DEFAULT_BUSY_WAIT, MIN_FREE_BYTES};
pub use store_service::{StoreService, IDLE_TIMEOUT, MAX_CONNECTIONS};
pub use trust::{peer_uid, Trust};

/// Entry points for the fuzz targets (`fuzz/`); not an API.
#[doc(hidden)]
pub mod fuzzing {
    use super::wire::{read_frame, Request, Response, MAX_REQUEST};

    /// Decodes `data` as a state-service request body and as a response body.
    /// Whatever decodes must be the canonical encoding of what it decoded to,
    /// so no two byte strings mean the same message. Then reads `data` as a
    /// stream of frames with the service's limit (each frame consumes at least
    /// its 4-byte length, so this ends). Returns how many of the two decodes
    /// succeeded.
    pub fn service_frames(data: &[u8]) -> usize {
        let mut decoded = 0;
        if let Ok(request) = Request::decode(data) {
            assert_eq!(request.encode(), data, "{request:?} is not canonical");
            decoded += 1;
        }
        if let Ok(response) = Response::decode(data) {
            assert_eq!(response.encode(), data, "{response:?} is not canonical");
            decoded += 1;
        }
        let mut stream = data;
        while let Ok(Some(body)) = read_frame(&mut stream, MAX_REQUEST) {
            assert!(body.len() <= MAX_REQUEST);
        }
        decoded
    }
}
