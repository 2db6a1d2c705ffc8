//! Tests of the application layer where its logic lives: the order handlers
//! through the mediator over the real SQLite event store ([`orders`]), the
//! catch-up subscription runner ([`subscription`]) and the bus consumer
//! runner over the in-process bus ([`consumer`]).
#![allow(clippy::unwrap_used, unreachable_pub)]

mod consumer;
mod orders;
mod racing;
mod subscription;
mod support;
mod traces;
