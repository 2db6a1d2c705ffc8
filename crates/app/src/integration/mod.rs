//! Integration between services over the bus: the order service's side of
//! seed 002.
//!
//! * [`CreateOrderConsumer`] answers `CreateOrderCommand`s (request/response)
//!   by running the same mediator request as `POST /orders`.
//! * [`IntegrationEventPublisher`] is the outbox that announces created,
//!   confirmed and cancelled orders as integration events, from an
//!   event-store subscription, never from the request path.
//! * [`messages`] holds the wire shapes both sides share.

mod create_order;
pub mod messages;
mod publisher;

pub use create_order::{CreateOrderConsumer, command_context};
pub use publisher::IntegrationEventPublisher;

use messages::{CREATE_ORDER_QUEUE, CREATE_ORDER_ROUTING_KEY};

use crate::ports::bus::SubscriptionSpec;

/// Commands an order service instance holds unsettled (and handles
/// concurrently, so their appends share group commits).
const COMMAND_PREFETCH: u16 = 128;

/// The order service's command queue, shared by its instances.
pub fn create_order_subscription() -> SubscriptionSpec {
    SubscriptionSpec::shared(CREATE_ORDER_QUEUE, &[CREATE_ORDER_ROUTING_KEY])
        .with_prefetch(COMMAND_PREFETCH)
}
