//! Per-instance host state and the `store` and `delivery` imports.

use crate::bindings::planasonix::mfa::{delivery, store};
use crate::limits::MemoryGuard;
use planasonix_core::store::{Cas, IoKind, Store, StoreError, Swap, Versioned};
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

/// The core's store error as the WIT's typed one: every variant crosses as
/// itself (the component's engine decides on them as the native one does).
pub fn store_error_to_wit(e: StoreError) -> store::StoreError {
    use store::StoreError as W;
    match e {
        StoreError::Busy => W::Busy,
        StoreError::Io(f) => W::Io(store::IoFailure {
            kind: io_kind(f.kind),
            detail: f.detail,
        }),
        StoreError::Corrupt { key, detail } => W::Corrupt(store::BadRecord { key, detail }),
        StoreError::Contention => W::Contention,
        StoreError::Untrusted(why) => W::Untrusted(why),
        StoreError::Tampered { key, detail } => W::Tampered(store::BadRecord { key, detail }),
        // A variant this host does not know yet: still a failure, said plainly.
        other => W::Io(store::IoFailure {
            kind: store::IoKind::Other,
            detail: other.to_string(),
        }),
    }
}

fn io_kind(kind: IoKind) -> store::IoKind {
    use store::IoKind as W;
    match kind {
        IoKind::PermissionDenied => W::PermissionDenied,
        IoKind::NotFound => W::NotFound,
        IoKind::NoSpace => W::NoSpace,
        IoKind::ReadOnly => W::ReadOnly,
        IoKind::Unreachable => W::Unreachable,
        IoKind::Corrupt => W::Corrupt,
        _ => W::Other,
    }
}

fn versioned(v: Versioned) -> store::Versioned {
    store::Versioned {
        version: v.version,
        value: v.value,
    }
}

/// The `store` import: the embedder's [`Store`], operation for operation.
/// Nothing is checked here on the engine's behalf: the component's engine
/// asks `authenticated-only` and refuses what it must itself.
impl store::Host for HostState {
    fn get(&mut self, key: String) -> Result<Option<store::Versioned>, store::StoreError> {
        Ok(self
            .store
            .get(&key)
            .map_err(store_error_to_wit)?
            .map(versioned))
    }

    fn get_past_rollback(
        &mut self,
        key: String,
    ) -> Result<Option<store::Versioned>, store::StoreError> {
        Ok(self
            .store
            .get_past_rollback(&key)
            .map_err(store_error_to_wit)?
            .map(versioned))
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
            .map_err(store_error_to_wit)?
        {
            Cas::Swapped(version) => Ok(Some(version)),
            Cas::Conflict => Ok(None),
        }
    }

    fn swap_and_add(
        &mut self,
        key: String,
        expected: Option<u64>,
        value: Vec<u8>,
        add: Vec<(String, Vec<u8>)>,
    ) -> Result<store::Swap, store::StoreError> {
        match self
            .store
            .swap_and_add(&key, expected, &value, &add)
            .map_err(store_error_to_wit)?
        {
            Swap::Conflict => Ok(store::Swap::Conflict),
            Swap::Swapped { version, present } => Ok(store::Swap::Swapped(store::Swapped {
                version,
                present: present.map_err(store_error_to_wit),
            })),
        }
    }

    fn keys(&mut self, prefix: String) -> Result<Vec<String>, store::StoreError> {
        self.store.keys(&prefix).map_err(store_error_to_wit)
    }

    fn authenticated_only(&mut self) -> bool {
        self.store.authenticated_only()
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
