//! The state service (`planasonix serve`): one process that owns the sled
//! database, so logins need not each open it.
//!
//! * [`protocol`]: framing, the request and response messages and their
//!   named opcodes; shared by both ends.
//! * [`client`]: [`client::RemoteStore`], a [`planasonix_core::Store`] over
//!   the socket, used by [`crate::transaction`].
//!
//! The server is `planasonix-service`'s `StoreService`, linked only by the
//! CLI for `planasonix serve`.

pub mod client;
pub mod protocol;
