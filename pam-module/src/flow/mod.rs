//! The login flow, written against [`Pam`](crate::pam::Pam) and native's
//! [`Transactions`](planasonix_native::Transactions), so it runs (and is
//! tested) without libpam or sled.
//!
//! The store is opened only inside [`Env::call`], one engine operation at a
//! time through native's `EngineCall`, and never while a prompt waits for a
//! person. Log lines carry the service, user and remote host, never a code,
//! a secret or a phone number: the flow only logs names, decisions and error
//! kinds, and the core's audit events, which are built to hold none of those.
//!
//! The files, each using only those listed before it:
//!
//! * `messages`: every prompt and every sentence the user sees.
//! * `env`: [`Env`] (engine calls, log, accounts), [`Site`] (what a stage
//!   has before the key and store) and the [`Accounts`] trait.
//! * `who`: who is logging in, from PAM and NSS.
//! * `outcome`: how an attempt ends on every path: passed, or an engine
//!   error's return code.
//! * `degraded`: answers without the seal key or the store, and break-glass.
//! * `approve`: approving the login in the browser instead of typing a code
//!   (where `[approval]` offers it), waiting for it through the store.
//! * `verify`: the loop that asks for a code (the auth stage and the end of
//!   enrolling at login), which offers the approval.
//! * `enroll`: the grace period and enrolling an app at login.
//! * `auth` and `account`: the two stages.

mod account;
mod approve;
mod auth;
mod degraded;
mod enroll;
mod env;
pub(crate) mod messages;
mod outcome;
mod verify;
mod who;

#[cfg(test)]
mod fake;
#[cfg(test)]
mod tests;

pub(crate) use account::account;
pub(crate) use auth::authenticate;
pub(crate) use degraded::from_policy_alone;
pub use enroll::wants_enrollment;
pub(crate) use env::{Accounts, Env, Site};
pub use messages::capitalise;
