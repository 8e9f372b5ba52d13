//! # planasonix-core
//!
//! The Planasonix MFA engine. The same code decides and verifies second factors
//! for Linux logins (the PAM module) and for identity providers (the WebAssembly
//! component), so both doors give the same answers.
//!
//! ## The model
//!
//! An [`Engine`] joins four things: a validated [`Policy`] (who must use MFA,
//! with which parameters), a [`Store`] (versioned key/value with
//! compare-and-swap), a [`SealKey`] (secrets at rest are sealed under it) and a
//! [`Delivery`] channel (SMS codes, notices to users). Each operation is a
//! function of the policy, the stored record, the input and `now`: the engine
//! never reads a clock or the OS random generator itself, so the same code runs
//! on `wasm32-wasip2` and natively, and tests fix time and randomness.
//!
//! A login asks [`Engine::decide`] what is required — nothing (and why), a grace
//! period, a code, or a refusal — and, when a code is required, hands what the
//! person typed to [`Engine::verify`]. Every state change is read → compute →
//! compare-and-swap, retried on conflict, so two logins racing on one user can
//! never both spend one recovery code or replay one TOTP step. Security events
//! are kept in a bounded per-user audit log in the store and handed to an
//! [`AuditSink`] for syslog; none ever contains a secret, a code or a number.
//!
//! This crate does no I/O: no files, sockets, clock or OS randomness; its
//! dependencies show it. What a Linux host hands the engine lives in
//! `planasonix-native`; the WebAssembly component gets the same through its
//! WIT imports. The `testing` feature exposes the store contract
//! ([`testing::check_store`]) for every store implementation's tests.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod approval;
pub mod audit;
mod codec;
pub mod decision;
pub mod delivery;
mod engine;
mod error;
pub mod hotp;
pub mod input;
pub mod messages;
pub mod otpauth;
pub mod phone;
pub mod policy;
pub mod qr;
pub mod random;
pub mod record;
pub mod recovery;
pub mod seal;
pub mod secret;
pub mod sms;
pub mod store;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod text;
pub mod time;
pub mod trail;
pub mod webauthn;

pub use audit::{AuditEvent, AuditKind, AuditSink, Factor, Level};
pub use decision::{Context, Decision, Denied, NotRequired, Session, Subject};
pub use delivery::{
    Deferred, Delivery, DeliveryError, Message, NoDelivery, Notice, NoticeKind, SmsPurpose,
};
pub use engine::{
    Answered, ApprovalAnswer, ApprovalError, ApprovalOutcome, ApprovalStart, ApprovalView, Engine,
    EnrolledTotp, PasskeyError, PasskeyInfo, PasskeyRefusal, PasskeyVerification,
    PasswordlessVerification, RemoteLock, TotpEnrollment, TotpParams, UserStatus, Verification,
    MAX_CODE_MISSES,
};
pub use error::Error;
pub use policy::{Mode, Policy, PolicyError, StepUpScope};
#[cfg(feature = "testing")]
pub use random::SeededRandom;
pub use random::{Random, RandomError};
pub use seal::{SealError, SealKey};
pub use secret::{SecretBytes, SecretString};
pub use store::{IoFailure, IoKind, MemoryStore, Store, StoreError};
pub use time::UnixTime;
pub use trail::{AuditTrail, StoreTrail, EVENT_KEY_PREFIX};
