//! The delivery file's gateways (planasonix-delivery(5)) as the component's
//! `delivery` import: what an identity provider on a host of the fleet uses
//! to send SMS codes and notices the way the hosts do.

use crate::state::HostDelivery;
use planasonix_core::phone::PhoneNumber;
use planasonix_core::DeliveryError;
use planasonix_gateway::{read_delivery_file, DeliveryFile, GatewayError};
use std::path::Path;

/// SMS and notices through the channels of a delivery file.
#[derive(Debug)]
pub struct GatewayDelivery(DeliveryFile);

impl GatewayDelivery {
    /// Reads the delivery file at `path` (checked like the hosts check it).
    pub fn from_file(path: &Path) -> Result<GatewayDelivery, String> {
        read_delivery_file(path)
            .map(GatewayDelivery)
            .map_err(|e| e.to_string())
    }
}

/// A gateway's failure for the engine: provably not sent, or perhaps sent.
fn failure(e: GatewayError) -> DeliveryError {
    if e.proves_unsent() {
        DeliveryError::not_sent(e.to_string())
    } else {
        DeliveryError::new(e.to_string())
    }
}

impl HostDelivery for GatewayDelivery {
    fn send_sms(&self, to: &str, text: &str) -> Result<(), DeliveryError> {
        let number = PhoneNumber::parse(to).map_err(|e| DeliveryError::not_sent(e.to_string()))?;
        match &self.0.sms {
            // The error names the gateway's status, never the number.
            Some(channel) => channel.send_sms(&number, text).map(drop).map_err(failure),
            None => Err(DeliveryError::not_sent("no SMS gateway is set up")),
        }
    }

    fn send_notice(&self, user: &str, message: &str) -> Result<(), DeliveryError> {
        match &self.0.notice {
            Some(channel) => channel
                .send_notice(user, message)
                .map(drop)
                .map_err(failure),
            // As on the hosts: without a channel notices are dropped; the
            // audit trail has every event.
            None => Ok(()),
        }
    }
}
