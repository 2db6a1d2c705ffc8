//! Tests of the application layer where its logic lives: the order handlers
//! through the mediator over the real SQLite event store ([`orders`]), the
//! catch-up subscription runner ([`subscription`]), the bus consumer
//! runner over the in-process bus ([`consumer`]) and, with a two-step handler,
//! over a scripted broker ([`staged`]).
#![allow(clippy::unwrap_used, unreachable_pub)]

mod consumer;
mod orders;
mod racing;
mod staged;
mod subscription;
mod support;
mod traces;
