//! Message bus adapters of orderflow, behind the port
//! [`orderflow_app::ports::bus`]:
//!
//! * [`InProcessBus`] — the embedded default: tokio channels in one process,
//!   with the same routing, acknowledgement and dead-letter semantics as the
//!   broker, so that code tested on it behaves the same on RabbitMQ.
//! * [`RabbitBus`] — server mode: RabbitMQ (AMQP 0-9-1) through `lapin`, with
//!   a durable topic exchange, persistent messages, publisher confirms,
//!   manual acks with prefetch, dead-lettering and reconnection by itself.
//!
//! Both pass the conformance suite in `tests/conformance/`. Delivery is
//! at least once with either: consumers de-duplicate by message id
//! ([`orderflow_app::messaging::Deduplicator`]) and stay idempotent.
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod backoff;
pub mod in_process;
pub mod rabbitmq;
mod topic;

pub use backoff::Backoff;
pub use in_process::{DeadLetter, DeadLetterReason, InProcessBus, InProcessConfig};
pub use rabbitmq::{RabbitBus, RabbitConfig};
pub use topic::topic_matches;
