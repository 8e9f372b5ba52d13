//! `planasonix-service`: the state service's server (`planasonix serve`) and
//! the fleet's shared PostgreSQL store. Only the CLI and the wasmtime host
//! link it; the PAM module links `planasonix-native`, which holds the
//! service's protocol and client but neither this server nor a database
//! client, so the module can never link tokio-postgres, whatever else a
//! build selects.
//!
//! * [`server`]: [`StoreService`], serving sled, or the shared store guarded
//!   by [`seen`]'s memory of this host's writes.
//! * [`postgres`]: [`PgStore`], TLS `verify-full` or a checked unix socket,
//!   SCRAM only, the fleet key's check value on every connection.

pub mod postgres;
pub mod seen;
pub mod server;

pub use postgres::{Copied, Migrated, PgStore, Recorded, SCHEMA_VERSION};
pub use server::{StoreService, IDLE_TIMEOUT, MAX_CONNECTIONS};
