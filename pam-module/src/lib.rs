//! # pam_planasonix
//!
//! The Planasonix MFA PAM module. `pam_sm_authenticate` asks the core engine
//! what this login requires and, when it requires a second factor, prompts for
//! a TOTP code, a recovery code or `sms`; `pam_sm_acct_mgmt` refuses logins
//! that needed a second factor but skipped the auth stage (sshd public-key
//! logins). See `README.md` and `pam_planasonix(8)`; how this crate sits among
//! the others is in ARCHITECTURE.md at the top of the repository.
//!
//! Layout, each part using only those after it:
//!
//! * `ffi/`: every line that touches C, and the only `unsafe` code: the
//!   `pam_sm_*` entry points and their panic guard (`ffi/mod.rs`), the libpam
//!   handle and its conversation (`ffi/handle.rs`). It calls `module::run`;
//!   nothing calls into it.
//! * `module`: from one PAM call to the flow, in safe code: the module
//!   arguments (`args`), the policy and seal key files, the syslog writer
//!   (`planasonix_native::syslog`), the store (`StateDb`: the state service
//!   or the sled files) and the delivery commands (`Commands`), joined in
//!   native's `EngineCall`, the one path every native door runs the engine
//!   through.
//! * `flow/`: the login flow against the [`pam::Pam`] trait and native's
//!   `Transactions`, unit-tested with a scripted handle over a memory store;
//!   `flow/mod.rs` lists its files and their order.
//! * `pam`: the [`pam::Pam`] trait; `code`: PAM return codes, mapped to and
//!   from libpam's integers in one place.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod args;
mod code;
mod ffi;
mod flow;
mod module;
mod pam;

/// The pure steps a conversation answer takes in this module, public only for
/// the fuzz targets in `fuzz/` and their replay test. Not an API: the module
/// is loaded by libpam, never linked against.
#[doc(hidden)]
pub mod fuzzing {
    pub use crate::flow::{capitalise, wants_enrollment};
}
