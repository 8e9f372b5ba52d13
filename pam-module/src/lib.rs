//! # pam_planasonix
//!
//! The Planasonix MFA PAM module. `pam_sm_authenticate` asks the core engine
//! what this login requires and, when it requires a second factor, prompts for
//! a TOTP code, a recovery code or `sms`; `pam_sm_acct_mgmt` refuses logins
//! that needed a second factor but skipped the auth stage (sshd public-key
//! logins). See `README.md` and `pam_planasonix(8)`.
//!
//! Layout: `ffi/` holds every line that touches C (entry points, the handle
//! and conversation, syslog); `flow/` is the login flow against the
//! [`pam::Pam`] trait, tested with a scripted fake; `code` maps return codes
//! in one place.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod args;
mod backend;
mod code;
mod delivery;
mod ffi;
mod flow;
mod log;
mod module;
mod pam;

/// The pure steps a conversation answer takes in this module, public only for
/// the fuzz targets in `fuzz/` and their replay test. Not an API: the module
/// is loaded by libpam, never linked against.
#[doc(hidden)]
pub mod fuzzing {
    pub use crate::flow::{capitalise, wants_enrollment};
}
