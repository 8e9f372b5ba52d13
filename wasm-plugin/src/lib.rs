//! Planasonix MFA as a WebAssembly component.
//!
//! A thin adapter: WIT types in, `planasonix-core` calls, WIT types out. The
//! `store` and `delivery` imports back the core's `Store` and `Delivery` traits;
//! randomness comes from WASI. Build with
//! `cargo build -p planasonix-wasm --target wasm32-wasip2 --release`.
//!
//! That build is the WIT world `plugin`, which has no way to pass a seed: a
//! host that could would make every enrollment in every fresh instance share
//! one TOTP secret, one set of recovery codes and the same seal nonces. Only
//! the conformance variant, built by the host's test harness with the
//! `test-randomness` feature (and never packaged), is the world
//! `conformance`, whose `seeded` export takes one, and whose `contract`
//! export runs the store contract against the host's own store.
#![cfg(target_arch = "wasm32")]

mod convert;
mod imports;

/// Guest bindings generated from `wit/` (the one source for host and guest):
/// world `plugin`, or `conformance` in the test variant. The generated ABI
/// glue is the only unsafe code in this crate.
#[allow(unsafe_code, clippy::undocumented_unsafe_blocks, missing_docs)]
mod bindings {
    #[cfg(not(feature = "test-randomness"))]
    wit_bindgen::generate!({
        world: "plugin",
        path: "../wit",
    });
    #[cfg(feature = "test-randomness")]
    wit_bindgen::generate!({
        world: "conformance",
        path: "../wit",
    });
}

/// The component's exports, wired to [`Component`] by the generated glue.
#[allow(unsafe_code, clippy::undocumented_unsafe_blocks)]
mod export {
    use super::Component;
    crate::bindings::export!(Component with_types_in crate::bindings);
}

use bindings::exports::planasonix::mfa::engine::{
    self as wit, AuditEvent, Context as WitContext, Decision as WitDecision, Error as WitError,
    Subject as WitSubject, TotpEnrollment, UserStatus, Verification as WitVerification,
};
use convert::{context, err, subject};
use imports::{HostDelivery, HostStore};
use planasonix_core::{Engine, Policy, Random, RandomError, SealKey, UnixTime};
use std::cell::RefCell;

/// WASI random, through ring's system generator.
struct WasiRandom(ring::rand::SystemRandom);

impl Random for WasiRandom {
    fn fill(&mut self, dest: &mut [u8]) -> Result<(), RandomError> {
        ring::rand::SecureRandom::fill(&self.0, dest).map_err(|_| RandomError)
    }
}

/// The conformance variant's `seeded` export: a fixed seed, so all doors draw
/// the same bytes. Not compiled into the shipped component.
#[cfg(feature = "test-randomness")]
impl bindings::exports::planasonix::mfa::seeded::Guest for Component {
    fn seed(seed: u64) -> Result<(), WitError> {
        STATE.with(|state| {
            let mut state = state.borrow_mut();
            let c = state.as_mut().ok_or(WitError::NotConfigured)?;
            c.rng = Box::new(planasonix_core::SeededRandom::new(seed));
            Ok(())
        })
    }
}

/// The conformance variant's `contract` export: the store contract, run
/// against the host's `store` import. Not compiled into the shipped component.
#[cfg(feature = "test-randomness")]
impl bindings::exports::planasonix::mfa::contract::Guest for Component {
    fn check_store() -> Result<(), String> {
        planasonix_core::testing::store_contract(&HostStore)
    }
}

struct Configured {
    policy: Policy,
    key: SealKey,
    rng: Box<dyn Random>,
}

thread_local! {
    static STATE: RefCell<Option<Configured>> = const { RefCell::new(None) };
}

/// Runs `op` with a configured engine and the instance's random source.
fn with_engine<T>(
    op: impl FnOnce(&Engine<'_>, &mut dyn Random) -> Result<T, planasonix_core::Error>,
) -> Result<T, WitError> {
    STATE.with(|state| {
        let mut state = state.borrow_mut();
        let c = state.as_mut().ok_or(WitError::NotConfigured)?;
        let engine = Engine::new(&c.policy, &c.key, &HostStore).with_delivery(&HostDelivery);
        op(&engine, c.rng.as_mut()).map_err(err)
    })
}

fn codes(list: Vec<planasonix_core::SecretString>) -> Vec<String> {
    list.into_iter().map(|c| c.expose().to_owned()).collect()
}

struct Component;

impl wit::Guest for Component {
    fn configure(policy_toml: String, seal_key: Vec<u8>) -> Result<(), WitError> {
        let policy =
            Policy::from_toml(&policy_toml).map_err(|e| WitError::Policy(e.to_string()))?;
        let key = SealKey::from_bytes(&seal_key).map_err(|e| WitError::Seal(e.to_string()))?;
        #[allow(clippy::disallowed_methods)] // The component's randomness is WASI random.
        let rng: Box<dyn Random> = Box::new(WasiRandom(ring::rand::SystemRandom::new()));
        STATE.with(|s| *s.borrow_mut() = Some(Configured { policy, key, rng }));
        Ok(())
    }

    fn effective_policy() -> Result<String, WitError> {
        with_engine(|e, _| Ok(e.policy().to_toml()))
    }

    fn decide(subject_: WitSubject, ctx: WitContext, now: u64) -> Result<WitDecision, WitError> {
        with_engine(|e, _| e.decide(&subject(subject_), &context(ctx), UnixTime(now)))
            .map(convert::decision)
    }

    fn verify(
        user: String,
        input: Vec<u8>,
        ctx: WitContext,
        now: u64,
    ) -> Result<WitVerification, WitError> {
        with_engine(|e, rng| e.verify(&user, &input, &context(ctx), UnixTime(now), rng))
            .map(convert::verification)
    }

    fn begin_totp(user: String, now: u64) -> Result<TotpEnrollment, WitError> {
        with_engine(|e, rng| e.begin_totp(&user, UnixTime(now), rng)).map(convert::enrollment)
    }

    fn confirm_totp(user: String, code: Vec<u8>, now: u64) -> Result<Vec<String>, WitError> {
        with_engine(|e, rng| e.confirm_totp(&user, &code, UnixTime(now), rng))
            .map(|d| codes(d.recovery_codes))
    }

    fn begin_sms(user: String, phone: String, now: u64) -> Result<String, WitError> {
        with_engine(|e, rng| e.begin_sms(&user, &phone, UnixTime(now), rng))
    }

    fn confirm_sms(user: String, code: Vec<u8>, now: u64) -> Result<Vec<String>, WitError> {
        with_engine(|e, rng| e.confirm_sms(&user, &code, UnixTime(now), rng)).map(codes)
    }

    fn send_sms_code(user: String, ctx: WitContext, now: u64) -> Result<String, WitError> {
        with_engine(|e, rng| e.send_login_sms(&user, &context(ctx), UnixTime(now), rng))
    }

    fn regenerate_recovery_codes(user: String, now: u64) -> Result<Vec<String>, WitError> {
        with_engine(|e, rng| e.regenerate_recovery(&user, UnixTime(now), rng)).map(codes)
    }

    fn remove_factor(subject_: WitSubject, factor_: wit::Factor, now: u64) -> Result<(), WitError> {
        with_engine(|e, _| {
            e.remove_factor(
                &subject(subject_),
                convert::core_factor(factor_),
                UnixTime(now),
            )
        })
    }

    fn passkey_registration_options(
        user: String,
        display_name: String,
        now: u64,
    ) -> Result<String, WitError> {
        with_engine(|e, rng| {
            e.passkey_registration_options(&user, &display_name, UnixTime(now), rng)
        })
    }

    fn register_passkey(
        user: String,
        name: String,
        response: String,
        now: u64,
    ) -> Result<Vec<String>, WitError> {
        with_engine(|e, rng| {
            e.register_passkey(&user, &name, response.as_bytes(), UnixTime(now), rng)
        })
        .map(codes)
    }

    fn passkey_sign_in_options(user: String, now: u64) -> Result<String, WitError> {
        with_engine(|e, rng| e.passkey_sign_in_options(&user, UnixTime(now), rng))
    }

    fn verify_passkey(
        user: String,
        response: String,
        ctx: WitContext,
        now: u64,
    ) -> Result<wit::PasskeyVerification, WitError> {
        with_engine(|e, _| {
            e.verify_passkey(&user, response.as_bytes(), &context(ctx), UnixTime(now))
        })
        .map(convert::passkey_verification)
    }

    fn passwordless_options(now: u64) -> Result<String, WitError> {
        with_engine(|e, rng| e.passwordless_options(UnixTime(now), rng))
    }

    fn verify_passwordless(
        response: String,
        ctx: WitContext,
        now: u64,
    ) -> Result<wit::PasswordlessVerification, WitError> {
        with_engine(|e, _| e.verify_passwordless(response.as_bytes(), &context(ctx), UnixTime(now)))
            .map(convert::passwordless_verification)
    }

    fn rename_passkey(
        user: String,
        name: String,
        new_name: String,
        now: u64,
    ) -> Result<(), WitError> {
        with_engine(|e, _| e.rename_passkey(&user, &name, &new_name, UnixTime(now)))
    }

    fn remove_passkey(subject_: WitSubject, name: String, now: u64) -> Result<(), WitError> {
        with_engine(|e, _| e.remove_passkey(&subject(subject_), &name, UnixTime(now)))
    }

    fn approval_request(
        user: String,
        code: String,
        now: u64,
    ) -> Result<wit::ApprovalView, WitError> {
        with_engine(|e, _| e.approval_request(&user, &code, UnixTime(now)))
            .map(convert::approval_view)
    }

    fn answer_approval(
        user: String,
        code: String,
        answer: wit::ApprovalAnswer,
        session: wit::Session,
        amr: Vec<String>,
        now: u64,
    ) -> Result<wit::Answered, WitError> {
        with_engine(|e, _| {
            e.answer_approval(
                &user,
                &code,
                convert::approval_answer(answer),
                &convert::session(session),
                &amr,
                UnixTime(now),
            )
        })
        .map(convert::answered)
    }

    fn status(user: String, now: u64) -> Result<UserStatus, WitError> {
        with_engine(|e, _| e.status(&user, UnixTime(now))).map(convert::status)
    }

    fn admin_reset(user: String, reason: String, now: u64) -> Result<(), WitError> {
        with_engine(|e, _| e.admin_reset(&user, &reason, UnixTime(now)))
    }

    fn admin_unlock(user: String, now: u64) -> Result<(), WitError> {
        with_engine(|e, _| e.admin_unlock(&user, UnixTime(now)))
    }

    fn audit_events(user: Option<String>, since: Option<u64>) -> Result<Vec<AuditEvent>, WitError> {
        with_engine(|e, _| e.audit_log(user.as_deref(), since.map(UnixTime)))
            .map(|events| events.into_iter().map(convert::audit_event).collect())
    }
}
