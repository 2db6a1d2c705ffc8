//! Push updates: the outbox that announces order changes to their
//! subscribers, and the message it publishes.
//!
//! [`PushPublisher`] is an event-store subscription handler: for each
//! `OrderConfirmed` and `OrderCancelled` it publishes one
//! [`PushUpdateIntegrationMessage`] to the bus and returns only once the
//! broker has confirmed the batch, so the subscription's checkpoint moves
//! only after that. An order that was stored is therefore always, eventually,
//! announced — also when the broker was down when it was stored. The message
//! id is derived from the event id, so a replayed event republishes the same
//! id and consumers drop the repeat.
//!
//! `order-created` pushes come from the gateway's notification consumer
//! (seed 002, [`crate::gateway::OrderCreatedNotifier`]), which follows the
//! `OrderCreatedIntegrationEvent`: one source per push type, so no buyer is
//! told twice.

mod message;
mod publisher;

pub use message::{
    PUSH_UPDATE_MESSAGE_KIND, PUSH_UPDATE_ROUTING_PREFIX, PushUpdateIntegrationMessage,
    PushUpdatePayload,
};
pub use publisher::PushPublisher;
