//! The core's `Store` and `Delivery` traits over the component's imports.

use crate::bindings::planasonix::mfa::{delivery, store};
use planasonix_core::phone::PhoneNumber;
use planasonix_core::store::{Cas, IoKind, Store, StoreError, Swap, Versioned};
use planasonix_core::{Delivery, DeliveryError, Notice};

/// The WIT's typed store error as the core's: every variant crosses as
/// itself, so the engine decides on a `tampered` record or a `busy` store
/// exactly as it does natively.
fn store_error(e: store::StoreError) -> StoreError {
    use store::StoreError as W;
    match e {
        W::Busy => StoreError::Busy,
        W::Io(f) => StoreError::io(io_kind(f.kind), f.detail),
        W::Corrupt(r) => StoreError::Corrupt {
            key: r.key,
            detail: r.detail,
        },
        W::Contention => StoreError::Contention,
        W::Untrusted(why) => StoreError::Untrusted(why),
        W::Tampered(r) => StoreError::Tampered {
            key: r.key,
            detail: r.detail,
        },
    }
}

/// The core's store error as the WIT's, for the engine's own `error::store`:
/// every variant as itself, as the host handed it in.
pub(crate) fn to_wit(e: StoreError) -> store::StoreError {
    use store::StoreError as W;
    match e {
        StoreError::Busy => W::Busy,
        StoreError::Io(f) => W::Io(store::IoFailure {
            kind: io_kind_out(f.kind),
            detail: f.detail,
        }),
        StoreError::Corrupt { key, detail } => W::Corrupt(store::BadRecord { key, detail }),
        StoreError::Contention => W::Contention,
        StoreError::Untrusted(why) => W::Untrusted(why),
        StoreError::Tampered { key, detail } => W::Tampered(store::BadRecord { key, detail }),
        // A variant this build does not know yet: still a failure, said plainly.
        other => W::Io(store::IoFailure {
            kind: store::IoKind::Other,
            detail: other.to_string(),
        }),
    }
}

fn io_kind_out(kind: IoKind) -> store::IoKind {
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

fn io_kind(kind: store::IoKind) -> IoKind {
    use store::IoKind as W;
    match kind {
        W::PermissionDenied => IoKind::PermissionDenied,
        W::NotFound => IoKind::NotFound,
        W::NoSpace => IoKind::NoSpace,
        W::ReadOnly => IoKind::ReadOnly,
        W::Unreachable => IoKind::Unreachable,
        W::Corrupt => IoKind::Corrupt,
        W::Other => IoKind::Other,
    }
}

fn versioned(v: store::Versioned) -> Versioned {
    Versioned {
        version: v.version,
        value: v.value,
    }
}

/// The host's storage.
pub(crate) struct HostStore;

impl Store for HostStore {
    fn get(&self, key: &str) -> Result<Option<Versioned>, StoreError> {
        store::get(key)
            .map(|v| v.map(versioned))
            .map_err(store_error)
    }

    fn compare_and_swap(
        &self,
        key: &str,
        expected: Option<u64>,
        value: Option<&[u8]>,
    ) -> Result<Cas, StoreError> {
        match store::compare_and_swap(key, expected, value).map_err(store_error)? {
            Some(version) => Ok(Cas::Swapped(version)),
            None => Ok(Cas::Conflict),
        }
    }

    fn keys(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        store::keys(prefix).map_err(store_error)
    }

    fn swap_and_add(
        &self,
        key: &str,
        expected: Option<u64>,
        value: &[u8],
        add: &[(String, Vec<u8>)],
    ) -> Result<Swap, StoreError> {
        match store::swap_and_add(key, expected, value, add).map_err(store_error)? {
            store::Swap::Conflict => Ok(Swap::Conflict),
            store::Swap::Swapped(s) => Ok(Swap::Swapped {
                version: s.version,
                present: s.present.map_err(store_error),
            }),
        }
    }

    fn get_past_rollback(&self, key: &str) -> Result<Option<Versioned>, StoreError> {
        store::get_past_rollback(key)
            .map(|v| v.map(versioned))
            .map_err(store_error)
    }

    fn authenticated_only(&self) -> bool {
        store::authenticated_only()
    }
}

/// The host's SMS and notice channels.
pub(crate) struct HostDelivery;

impl Delivery for HostDelivery {
    fn send_sms(&self, to: &PhoneNumber, text: &str) -> Result<(), DeliveryError> {
        delivery::send_sms(to.e164(), text).map_err(delivery_error)
    }

    fn send_notice(&self, notice: &Notice) -> Result<(), DeliveryError> {
        delivery::send_notice(&notice.user, &notice.message()).map_err(delivery_error)
    }
}

fn delivery_error(e: delivery::DeliveryError) -> DeliveryError {
    match e {
        delivery::DeliveryError::NotSent(why) => DeliveryError::not_sent(why),
        delivery::DeliveryError::Failed(why) => DeliveryError::new(why),
    }
}
