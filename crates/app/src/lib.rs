//! Application layer of orderflow: the ports the domain's use cases talk
//! through, and the machinery that drives them (subscriptions today; the
//! mediator and the use cases as the HTTP API lands).
//!
//! Nothing here knows which adapter runs: SQLite or PostgreSQL, in-process
//! bus or RabbitMQ. Adapters live in their own crates and implement the
//! traits of [`ports`].
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod context;
pub mod error;
#[cfg(any(test, feature = "fuzzing"))]
#[doc(hidden)]
pub mod fuzzing;
pub mod gateway;
pub mod integration;
pub mod mediator;
pub mod messaging;
pub mod orders;
pub mod page_cursor;
pub mod ports;
pub mod projections;
pub mod push;
pub mod recorded;
pub mod subscription;
pub mod trace_context;

pub use context::{Actor, IdempotencyKey, RequestContext};
pub use error::AppError;
pub use mediator::{Handle, Mediator, Request};
pub use trace_context::{TraceContext, TracedSpans, UntracedHops, nearest_traced_context};
