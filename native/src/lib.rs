//! # planasonix-native
//!
//! What a Linux host hands the Planasonix engine: everything that touches the
//! operating system, so that `planasonix-core` never does. The PAM module, the
//! CLI and the wasmtime host link this crate; the WebAssembly component never
//! does (its host provides the same things through WIT imports).
//!
//! * [`store`]: the store a native process opens (sled), and
//!   [`store_file`], the host's setting of which one (the fleet's shared
//!   PostgreSQL store is `planasonix-service`'s, which the module never links).
//! * [`transaction`]: one short transaction on a deployment's state, through
//!   the state service when it runs, on the sled files otherwise.
//! * [`call`]: [`EngineCall`], the one path from "run this engine operation"
//!   to "it is durable and its messages are sent".
//! * [`service`]: the state service's protocol and client (its server is
//!   `planasonix-service`'s, which only `planasonix serve` links).
//! * [`delivery`]: SMS and notices through external commands with timeouts.
//! * [`syslog`]: the one syslog writer and its input cleaning.
//! * Files and the OS: [`load_key_file`], [`read_policy_file`], [`FileTrail`],
//!   [`accounts`] (NSS), [`Trust`] (who may serve or own the database),
//!   [`now`] and [`OsRandom`].
//!
//! See ARCHITECTURE.md at the top of the repository for the map.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod accounts;
pub mod call;
pub mod delivery;
mod file_trail;
mod keyfile;
mod os;
mod policy_file;
pub mod remembered;
pub mod secret_file;
pub mod service;
pub mod store;
pub mod store_file;
pub mod store_uri;
pub mod syslog;
pub mod transaction;
mod trust;
pub mod trusted_file;

pub use call::{EngineCall, SmsFor, StateDb, TrailPlace, Transactions, Undelivered};
pub use file_trail::FileTrail;
pub use keyfile::{check_file_beside, load_key_file, read_check_file, KeyFileError};
pub use os::{host_name, now, OsRandom};
pub use policy_file::{read_policy_file, PolicyFileError};
pub use remembered::Remembering;
pub use service::client::RemoteStore;
pub use store::{SledStore, DEFAULT_BUSY_WAIT, MIN_FREE_BYTES};
pub use store_file::{read_store_file, StoreSetting, DEFAULT_STORE_FILE};
pub use store_uri::{store_file_from_uri, StoreUriError};
pub use transaction::{shared_transaction, socket_beside, transaction};
pub use trust::{peer_uid, Trust};
pub use trusted_file::TrustedFileError;

/// Entry points for the fuzz targets (`fuzz/`); not an API.
#[doc(hidden)]
pub mod fuzzing {
    use crate::service::protocol::{read_frame, Request, Response, MAX_REQUEST};

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
