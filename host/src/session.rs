//! One configured plugin instance and its calls.

use crate::bindings::exports::planasonix::mfa::engine::{
    Answered, ApprovalAnswer, ApprovalView, AuditEvent, Context, Decision, Error as PluginError,
    Factor, Guest, PasskeyVerification, PasswordlessVerification, Session as EngineSession,
    Subject, TotpEnrollment, UserStatus, Verification,
};
use crate::bindings::{Plugin, PluginPre};
use crate::limits::Limits;
use crate::state::HostState;
use crate::HostError;
use std::time::Duration;

/// A configured instance. Use it for one request (or, warm, for many); after a
/// [`HostError`] other than [`HostError::Instantiate`] it is poisoned: drop it.
pub struct Session {
    store: wasmtime::Store<HostState>,
    plugin: Plugin,
    /// The raw instance, for the conformance world's `seeded` export, which
    /// the shipped world's bindings do not name.
    #[cfg(feature = "test-randomness")]
    instance: wasmtime::component::Instance,
    deadline_ticks: u64,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session").finish_non_exhaustive()
    }
}

/// A call's outcome: the plugin's own answer (which may be a typed plugin error).
pub type Answer<T> = Result<Result<T, PluginError>, HostError>;

impl Session {
    pub(crate) fn new(
        mut store: wasmtime::Store<HostState>,
        pre: &PluginPre<HostState>,
        limits: Limits,
        tick: Duration,
    ) -> Result<Session, HostError> {
        let deadline_ticks =
            (limits.call_timeout.as_millis() / tick.as_millis().max(1)).max(1) as u64;
        store.set_epoch_deadline(deadline_ticks);
        let instantiate = |e: wasmtime::Error| HostError::Instantiate(format!("{e:#}"));
        let instance = pre
            .instance_pre()
            .instantiate(&mut store)
            .map_err(instantiate)?;
        let plugin = Plugin::new(&mut store, &instance).map_err(instantiate)?;
        Ok(Session {
            store,
            plugin,
            #[cfg(feature = "test-randomness")]
            instance,
            deadline_ticks,
        })
    }

    pub(crate) fn configure(&mut self, policy: &str, key: &[u8]) -> Result<(), HostError> {
        match self.call(|g, s| g.call_configure(s, policy, key))? {
            Ok(()) => Ok(()),
            Err(e) => Err(HostError::Load(format!(
                "the component refused its configuration: {e:?}"
            ))),
        }
    }

    /// Test builds only: seeds the instance's randomness through the
    /// conformance world's `seeded` export. A shipped component has no such
    /// export, and this fails with [`HostError::Load`] saying so.
    #[cfg(feature = "test-randomness")]
    pub(crate) fn seed(&mut self, seed: u64) -> Result<(), HostError> {
        let seeded = format!("planasonix:mfa/seeded@{}", crate::WIT_VERSION);
        let seeded = seeded.as_str();
        let missing = || {
            HostError::Load(format!(
                "the component has no `{seeded}` export: it is a shipped build (world \
                 `plugin`), which cannot be given a seed"
            ))
        };
        let instance = self.instance;
        let seeded = instance
            .get_export_index(&mut self.store, None, seeded)
            .ok_or_else(missing)?;
        let index = instance
            .get_export_index(&mut self.store, Some(&seeded), "seed")
            .ok_or_else(missing)?;
        let seed_fn = instance
            .get_typed_func::<(u64,), (Result<(), PluginError>,)>(&mut self.store, index)
            .map_err(|e| HostError::Load(format!("the `seeded` export: {e:#}")))?;
        self.store.set_epoch_deadline(self.deadline_ticks);
        match seed_fn.call(&mut self.store, (seed,)) {
            Ok((Ok(()),)) => Ok(()),
            Ok((Err(e),)) => Err(HostError::Load(format!("the seed was refused: {e:?}"))),
            Err(e) => Err(HostError::Trap(format!("{e:#}"))),
        }
    }

    /// Runs the conformance variant's store contract (`contract` export)
    /// against this session's store, through the WIT `store` import:
    /// `Ok(Err(broken))` names the first promise the store broke.
    #[cfg(feature = "test-randomness")]
    pub(crate) fn check_store_contract(&mut self) -> Result<Result<(), String>, HostError> {
        let contract_name = format!("planasonix:mfa/contract@{}", crate::WIT_VERSION);
        let contract_name = contract_name.as_str();
        let missing = || {
            HostError::Load(format!(
                "the component has no `{contract_name}` export: it is a shipped build (world `plugin`)"
            ))
        };
        let instance = self.instance;
        let contract = instance
            .get_export_index(&mut self.store, None, contract_name)
            .ok_or_else(missing)?;
        let index = instance
            .get_export_index(&mut self.store, Some(&contract), "check-store")
            .ok_or_else(missing)?;
        let check = instance
            .get_typed_func::<(), (Result<(), String>,)>(&mut self.store, index)
            .map_err(|e| HostError::Load(format!("the `contract` export: {e:#}")))?;
        self.store.set_epoch_deadline(self.deadline_ticks);
        match check.call(&mut self.store, ()) {
            Ok((answer,)) => Ok(answer),
            Err(e) => Err(HostError::Trap(format!("{e:#}"))),
        }
    }

    /// Runs one export call under the deadline, classifying traps. Not public:
    /// the raw guest could `configure` an instance with a fixed seed (or another
    /// policy or key); embedders get the typed calls below.
    pub(crate) fn call<T>(
        &mut self,
        f: impl FnOnce(&Guest, &mut wasmtime::Store<HostState>) -> wasmtime::Result<T>,
    ) -> Result<T, HostError> {
        self.store.set_epoch_deadline(self.deadline_ticks);
        let guest = self.plugin.planasonix_mfa_engine();
        match f(guest, &mut self.store) {
            Ok(v) => Ok(v),
            Err(e) => {
                if self.store.data().guard.refused {
                    return Err(HostError::MemoryLimit);
                }
                match e.downcast_ref::<wasmtime::Trap>() {
                    Some(wasmtime::Trap::Interrupt) => Err(HostError::Timeout),
                    _ => Err(HostError::Trap(format!("{e:#}"))),
                }
            }
        }
    }

    /// What `subject` must do to pass `ctx` at `now`.
    pub fn decide(&mut self, subject: &Subject, ctx: &Context, now: u64) -> Answer<Decision> {
        self.call(|g, s| g.call_decide(s, subject, ctx, now))
    }

    /// Checks what the user typed.
    pub fn verify(
        &mut self,
        user: &str,
        input: &[u8],
        ctx: &Context,
        now: u64,
    ) -> Answer<Verification> {
        self.call(|g, s| g.call_verify(s, user, input, ctx, now))
    }

    /// Starts enrolling an authenticator app.
    pub fn begin_totp(&mut self, user: &str, now: u64) -> Answer<TotpEnrollment> {
        self.call(|g, s| g.call_begin_totp(s, user, now))
    }

    /// Confirms it with a code; returns recovery codes to show once.
    pub fn confirm_totp(&mut self, user: &str, code: &[u8], now: u64) -> Answer<Vec<String>> {
        self.call(|g, s| g.call_confirm_totp(s, user, code, now))
    }

    /// Starts enrolling a phone number.
    pub fn begin_sms(&mut self, user: &str, phone: &str, now: u64) -> Answer<String> {
        self.call(|g, s| g.call_begin_sms(s, user, phone, now))
    }

    /// Confirms it with the texted code.
    pub fn confirm_sms(&mut self, user: &str, code: &[u8], now: u64) -> Answer<Vec<String>> {
        self.call(|g, s| g.call_confirm_sms(s, user, code, now))
    }

    /// Texts a login code.
    pub fn send_sms_code(&mut self, user: &str, ctx: &Context, now: u64) -> Answer<String> {
        self.call(|g, s| g.call_send_sms_code(s, user, ctx, now))
    }

    /// Replaces the recovery codes.
    pub fn regenerate_recovery_codes(&mut self, user: &str, now: u64) -> Answer<Vec<String>> {
        self.call(|g, s| g.call_regenerate_recovery_codes(s, user, now))
    }

    /// Removes the user's app or SMS number (not the last one where MFA is required).
    pub fn remove_factor(&mut self, subject: &Subject, factor: Factor, now: u64) -> Answer<()> {
        self.call(|g, s| g.call_remove_factor(s, subject, factor, now))
    }

    /// Starts registering a passkey: the options JSON for the browser.
    pub fn passkey_registration_options(
        &mut self,
        user: &str,
        display_name: &str,
        now: u64,
    ) -> Answer<String> {
        self.call(|g, s| g.call_passkey_registration_options(s, user, display_name, now))
    }

    /// Registers the passkey the browser made; recovery codes when it is
    /// the first factor.
    pub fn register_passkey(
        &mut self,
        user: &str,
        name: &str,
        response: &str,
        now: u64,
    ) -> Answer<Vec<String>> {
        self.call(|g, s| g.call_register_passkey(s, user, name, response, now))
    }

    /// Starts a passkey sign-in: the options JSON for the browser.
    pub fn passkey_sign_in_options(&mut self, user: &str, now: u64) -> Answer<String> {
        self.call(|g, s| g.call_passkey_sign_in_options(s, user, now))
    }

    /// Checks a passkey sign-in.
    pub fn verify_passkey(
        &mut self,
        user: &str,
        response: &str,
        ctx: &Context,
        now: u64,
    ) -> Answer<PasskeyVerification> {
        self.call(|g, s| g.call_verify_passkey(s, user, response, ctx, now))
    }

    /// Starts a passwordless sign-in: the options JSON for the browser.
    pub fn passwordless_options(&mut self, now: u64) -> Answer<String> {
        self.call(|g, s| g.call_passwordless_options(s, now))
    }

    /// Checks a passwordless sign-in; on acceptance, the user it signs in.
    pub fn verify_passwordless(
        &mut self,
        response: &str,
        ctx: &Context,
        now: u64,
    ) -> Answer<PasswordlessVerification> {
        self.call(|g, s| g.call_verify_passwordless(s, response, ctx, now))
    }

    /// Renames one of the user's passkeys.
    pub fn rename_passkey(
        &mut self,
        user: &str,
        name: &str,
        new_name: &str,
        now: u64,
    ) -> Answer<()> {
        self.call(|g, s| g.call_rename_passkey(s, user, name, new_name, now))
    }

    /// Removes one of the user's passkeys (not the last factor where MFA is required).
    pub fn remove_passkey(&mut self, subject: &Subject, name: &str, now: u64) -> Answer<()> {
        self.call(|g, s| g.call_remove_passkey(s, subject, name, now))
    }

    /// The pending terminal login of `user` whose code they typed at the
    /// approval page: who asks and the numbers to pick from.
    pub fn approval_request(&mut self, user: &str, code: &str, now: u64) -> Answer<ApprovalView> {
        self.call(|g, s| g.call_approval_request(s, user, code, now))
    }

    /// Answers that login for `user`, from their sign-in (`session`, `amr`).
    pub fn answer_approval(
        &mut self,
        user: &str,
        code: &str,
        answer: ApprovalAnswer,
        session: EngineSession,
        amr: &[String],
        now: u64,
    ) -> Answer<Answered> {
        self.call(|g, s| g.call_answer_approval(s, user, code, answer, session, amr, now))
    }

    /// The account's state.
    pub fn status(&mut self, user: &str, now: u64) -> Answer<UserStatus> {
        self.call(|g, s| g.call_status(s, user, now))
    }

    /// Wipes the user's factors.
    pub fn admin_reset(&mut self, user: &str, reason: &str, now: u64) -> Answer<()> {
        self.call(|g, s| g.call_admin_reset(s, user, reason, now))
    }

    /// Lifts a lock.
    pub fn admin_unlock(&mut self, user: &str, now: u64) -> Answer<()> {
        self.call(|g, s| g.call_admin_unlock(s, user, now))
    }

    /// Audit events.
    pub fn audit_events(
        &mut self,
        user: Option<&str>,
        since: Option<u64>,
    ) -> Answer<Vec<AuditEvent>> {
        self.call(|g, s| g.call_audit_events(s, user, since))
    }
}
