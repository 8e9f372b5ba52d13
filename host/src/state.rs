//! Per-instance host state and the `store` and `delivery` imports.

use crate::bindings::planasonix::mfa::{delivery, store};
use crate::limits::MemoryGuard;
use planasonix_core::record::is_authenticated_form;
use planasonix_core::store::{Cas, Store, StoreError};
pub use planasonix_core::DeliveryError;
use std::sync::Arc;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

/// Where the component's SMS and notices go; implemented by the embedder.
/// An error says whether the message provably did not go out
/// ([`DeliveryError::not_sent`]: an SMS then takes nothing from the user's
/// limits) and must not contain the number or the code.
pub trait HostDelivery: Send + Sync {
    /// Sends `text` to the E.164 number `to`.
    fn send_sms(&self, to: &str, text: &str) -> Result<(), DeliveryError>;
    /// Tells `user` about a security event on their account.
    fn send_notice(&self, user: &str, message: &str) -> Result<(), DeliveryError>;
}

/// What one instance sees of the host.
pub struct HostState {
    pub(crate) wasi: WasiCtx,
    pub(crate) table: ResourceTable,
    pub(crate) guard: MemoryGuard,
    pub(crate) store: Arc<dyn Store>,
    pub(crate) delivery: Arc<dyn HostDelivery>,
}

impl std::fmt::Debug for HostState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostState")
            .field("guard", &self.guard)
            .finish_non_exhaustive()
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

fn to_wit(e: StoreError) -> store::StoreError {
    match e {
        StoreError::Busy => store::StoreError::Busy,
        other => store::StoreError::Io(other.to_string()),
    }
}

impl store::Host for HostState {
    fn get(&mut self, key: String) -> Result<Option<store::Versioned>, store::StoreError> {
        let found = self.store.get(&key).map_err(to_wit)?;
        // The component cannot ask the store whether it is shared, so the
        // host refuses for it what the native engine refuses: on a shared
        // store, a user record not in the authenticated form was planted by
        // someone without the seal key.
        if let Some(v) = &found {
            if self.store.authenticated_only()
                && key.starts_with("user/")
                && !is_authenticated_form(&v.value)
            {
                return Err(store::StoreError::Io(format!(
                    "stored record {key:?} was altered without the seal key and is refused: an unauthenticated record in a shared store"
                )));
            }
        }
        Ok(found.map(|v| store::Versioned {
            version: v.version,
            value: v.value,
        }))
    }

    fn compare_and_swap(
        &mut self,
        key: String,
        expected: Option<u64>,
        value: Option<Vec<u8>>,
    ) -> Result<Option<u64>, store::StoreError> {
        match self
            .store
            .compare_and_swap(&key, expected, value.as_deref())
            .map_err(to_wit)?
        {
            Cas::Swapped(version) => Ok(Some(version)),
            Cas::Conflict => Ok(None),
        }
    }

    fn keys(&mut self, prefix: String) -> Result<Vec<String>, store::StoreError> {
        self.store.keys(&prefix).map_err(to_wit)
    }
}

impl delivery::Host for HostState {
    fn send_sms(&mut self, to: String, text: String) -> Result<(), delivery::DeliveryError> {
        self.delivery.send_sms(&to, &text).map_err(to_wit_delivery)
    }

    fn send_notice(
        &mut self,
        user: String,
        message: String,
    ) -> Result<(), delivery::DeliveryError> {
        self.delivery
            .send_notice(&user, &message)
            .map_err(to_wit_delivery)
    }
}

fn to_wit_delivery(e: DeliveryError) -> delivery::DeliveryError {
    if e.proves_unsent() {
        delivery::DeliveryError::NotSent(e.reason().to_owned())
    } else {
        delivery::DeliveryError::Failed(e.reason().to_owned())
    }
}
