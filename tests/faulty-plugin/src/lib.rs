//! A plugin that misbehaves on purpose, so the host's limits can be tested:
//! `decide` never returns, `verify` allocates until it is stopped, `status`
//! traps. Everything else answers `not-configured`.
#![cfg(target_arch = "wasm32")]

#[allow(unsafe_code, clippy::undocumented_unsafe_blocks, missing_docs)]
mod bindings {
    wit_bindgen::generate!({ world: "plugin", path: "../../wit" });
}

#[allow(unsafe_code, clippy::undocumented_unsafe_blocks)]
mod export {
    use super::Faulty;
    crate::bindings::export!(Faulty with_types_in crate::bindings);
}

use bindings::exports::planasonix::mfa::engine::*;

struct Faulty;

impl Guest for Faulty {
    fn configure(_: String, _: Vec<u8>) -> Result<(), Error> {
        Ok(())
    }
    fn effective_policy() -> Result<String, Error> {
        Err(Error::NotConfigured)
    }
    fn decide(_: Subject, _: Context, now: u64) -> Result<Decision, Error> {
        let mut n = now;
        loop {
            n = core::hint::black_box(n.wrapping_mul(6364136223846793005).wrapping_add(1));
        }
    }
    fn verify(_: String, _: Vec<u8>, _: Context, _: u64) -> Result<Verification, Error> {
        let mut hoard: Vec<Vec<u8>> = Vec::new();
        loop {
            hoard.push(core::hint::black_box(vec![1u8; 1 << 20]));
        }
    }
    fn begin_totp(_: String, _: u64) -> Result<TotpEnrollment, Error> {
        Err(Error::NotConfigured)
    }
    fn confirm_totp(_: String, _: Vec<u8>, _: u64) -> Result<Vec<String>, Error> {
        Err(Error::NotConfigured)
    }
    fn begin_sms(_: String, _: String, _: u64) -> Result<String, Error> {
        Err(Error::NotConfigured)
    }
    fn confirm_sms(_: String, _: Vec<u8>, _: u64) -> Result<Vec<String>, Error> {
        Err(Error::NotConfigured)
    }
    fn send_sms_code(_: String, _: Context, _: u64) -> Result<String, Error> {
        Err(Error::NotConfigured)
    }
    fn regenerate_recovery_codes(_: String, _: u64) -> Result<Vec<String>, Error> {
        Err(Error::NotConfigured)
    }
    fn remove_factor(_: Subject, _: Factor, _: u64) -> Result<(), Error> {
        Err(Error::NotConfigured)
    }
    #[allow(clippy::panic)]
    fn status(_: String, _: u64) -> Result<UserStatus, Error> {
        panic!("deliberate trap")
    }
    fn admin_reset(_: String, _: String, _: u64) -> Result<(), Error> {
        Err(Error::NotConfigured)
    }
    fn admin_unlock(_: String, _: u64) -> Result<(), Error> {
        Err(Error::NotConfigured)
    }
    fn audit_events(_: Option<String>, _: Option<u64>) -> Result<Vec<AuditEvent>, Error> {
        Err(Error::NotConfigured)
    }
    fn passkey_registration_options(_: String, _: String, _: u64) -> Result<String, Error> {
        Err(Error::NotConfigured)
    }
    fn register_passkey(_: String, _: String, _: String, _: u64) -> Result<Vec<String>, Error> {
        Err(Error::NotConfigured)
    }
    fn passkey_sign_in_options(_: String, _: u64) -> Result<String, Error> {
        Err(Error::NotConfigured)
    }
    fn verify_passkey(
        _: String,
        _: String,
        _: Context,
        _: u64,
    ) -> Result<PasskeyVerification, Error> {
        Err(Error::NotConfigured)
    }
    fn passwordless_options(_: u64) -> Result<String, Error> {
        Err(Error::NotConfigured)
    }
    fn verify_passwordless(
        _: String,
        _: Context,
        _: u64,
    ) -> Result<PasswordlessVerification, Error> {
        Err(Error::NotConfigured)
    }
    fn rename_passkey(_: String, _: String, _: String, _: u64) -> Result<(), Error> {
        Err(Error::NotConfigured)
    }
    fn remove_passkey(_: Subject, _: String, _: u64) -> Result<(), Error> {
        Err(Error::NotConfigured)
    }
    fn approval_request(_: String, _: String, _: u64) -> Result<ApprovalView, Error> {
        Err(Error::NotConfigured)
    }
    fn answer_approval(
        _: String,
        _: String,
        _: ApprovalAnswer,
        _: Session,
        _: Vec<String>,
        _: u64,
    ) -> Result<Answered, Error> {
        Err(Error::NotConfigured)
    }
}
