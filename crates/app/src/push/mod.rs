//! Push updates: the outbox that announces order changes to their
//! subscribers, and the message it publishes.
//!
//! [`PushPublisher`] is an event-store subscription handler: for each
//! `OrderCreated`, `OrderConfirmed` and `OrderCancelled` it publishes one
//! [`PushUpdateIntegrationMessage`] to the bus and returns only once the
//! broker has confirmed the batch, so the subscription's checkpoint moves
//! only after that. An order that was stored is therefore always, eventually,
//! announced — also when the broker was down when it was stored. The message
//! id is derived from the event id, so a replayed event republishes the same
//! id and consumers drop the repeat.

mod message;
mod publisher;

pub use message::{
    PUSH_UPDATE_MESSAGE_KIND, PUSH_UPDATE_ROUTING_PREFIX, PushUpdateIntegrationMessage,
    PushUpdatePayload,
};
pub use publisher::PushPublisher;
