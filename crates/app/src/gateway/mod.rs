//! The API gateway's (BFF) side of seed 002: its requests
//! ([`SubmitOrderRequest`], [`GetGatewayOrderRequest`],
//! [`ListGatewayOrdersRequest`], run by [`GatewayHandlers`]) send
//! `CreateOrderCommand`s to the order service ([`OrderCommands`]) and read
//! the gateway's own read model, which it keeps from
//! the order integration events ([`ReadModelProjection`]) and announces new
//! orders to their buyers over the push hub ([`OrderCreatedNotifier`]).
//!
//! Both consumers use durable queues shared by every gateway instance
//! (competing consumers): one instance handles each event.

mod commands;
mod handlers;
mod notifications;
mod projection;
mod requests;

pub use commands::{CommandError, OrderCommands};
pub use handlers::GatewayHandlers;
pub use notifications::OrderCreatedNotifier;
pub use projection::ReadModelProjection;
pub use requests::{
    GetGatewayOrderRequest, ListGatewayOrdersRequest, SubmitOrderRequest, SubmittedOrder,
    ValidatedSubmission,
};

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
