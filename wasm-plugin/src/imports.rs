//! The core's `Store` and `Delivery` traits over the component's imports.

use crate::bindings::planasonix::mfa::{delivery, store};
use planasonix_core::phone::PhoneNumber;
use planasonix_core::store::{Cas, IoKind, Store, StoreError, Versioned};
use planasonix_core::{Delivery, DeliveryError, Notice};

fn store_error(e: store::StoreError) -> StoreError {
    match e {
        store::StoreError::Busy => StoreError::Busy,
        store::StoreError::Io(detail) => StoreError::io(IoKind::Other, detail),
    }
}

/// The host's storage.
pub(crate) struct HostStore;

impl Store for HostStore {
    fn get(&self, key: &str) -> Result<Option<Versioned>, StoreError> {
        store::get(key)
            .map(|v| {
                v.map(|v| Versioned {
                    version: v.version,
                    value: v.value,
                })
            })
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
