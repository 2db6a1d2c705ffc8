//! The API gateway's (BFF) side of seed 002: it sends `CreateOrderCommand`s
//! to the order service ([`OrderCommands`]), keeps its own read model from
//! the order integration events ([`ReadModelProjection`]) and announces new
//! orders to their buyers over the push hub ([`OrderCreatedNotifier`]).
//!
//! Both consumers use durable queues shared by every gateway instance
//! (competing consumers): one instance handles each event.

mod commands;
mod notifications;
mod projection;

pub use commands::{CommandError, OrderCommands};
pub use notifications::OrderCreatedNotifier;
pub use projection::ReadModelProjection;

use crate::integration::messages::ORDER_EVENT_ROUTING_PREFIX;
use crate::ports::bus::SubscriptionSpec;

/// Messages a consumer holds unsettled (and handles concurrently).
const CONSUMER_PREFETCH: u16 = 128;

/// The gateway read model's queue: every order integration event.
pub fn read_model_subscription() -> SubscriptionSpec {
    let binding = format!("{ORDER_EVENT_ROUTING_PREFIX}#");
    SubscriptionSpec::shared("gateway.read-model", &[binding.as_str()])
        .with_prefetch(CONSUMER_PREFETCH)
}

/// The notification consumer's queue: new orders only.
pub fn notification_subscription() -> SubscriptionSpec {
    let binding = format!("{ORDER_EVENT_ROUTING_PREFIX}created");
    SubscriptionSpec::shared("gateway.notifications", &[binding.as_str()])
        .with_prefetch(CONSUMER_PREFETCH)
}
