//! The message bus port: publish, subscribe, request/response.
//!
//! What every adapter (in-process, RabbitMQ) promises, and what the shared
//! conformance suite in `orderflow-bus` checks:
//!
//! * **Confirmed publishing.** [`MessagePublisher::publish`] returns `Ok` only
//!   once the broker has taken responsibility for the message (RabbitMQ:
//!   publisher confirm of a persistent message; in-process: enqueued). A
//!   full queue makes the publisher wait; nothing is dropped silently. A
//!   message that no queue is bound for is dropped, as AMQP does, unless it is
//!   [`Message::mandatory`]: then the publish fails with
//!   [`BusError::Unroutable`].
//! * **Topic routing.** Queues are bound with AMQP topic patterns: words are
//!   separated by `.`, `*` matches exactly one word, `#` zero or more.
//! * **At-least-once delivery.** A delivery stays owned by its consumer until
//!   it is settled: [`Delivery::ack`] removes it, [`Delivery::nack`] with
//!   `requeue` hands it back (it comes again with `redelivered = true`),
//!   [`Delivery::reject`] (or a nack without requeue) moves it to the
//!   dead-letter queue. A delivery dropped unsettled, or held by a consumer
//!   whose connection died, comes back as if nacked. A message requeued more
//!   than [`SubscriptionSpec::delivery_limit`] times is dead-lettered.
//!   Duplicates are therefore possible: consumers de-duplicate by
//!   [`Message::id`] with a `Deduplicator` (in `crate::messaging`), which is best effort within its
//!   window; handlers must still be idempotent.
//! * **Two queue modes.** [`QueueMode::Shared`]: a durable queue; every
//!   subscriber with the same name competes for its messages, and each message
//!   goes to one of them. [`QueueMode::Exclusive`]: a queue private to one
//!   subscriber, deleted with it, for fan-out (one per push-hub instance).
//! * **Prefetch.** A subscriber holds at most [`SubscriptionSpec::prefetch`]
//!   unsettled deliveries; more arrive only as it settles them.
//! * **Request/response.** [`MessageRequester::request`] publishes a
//!   mandatory message with a private reply address and waits, bounded, for
//!   the consumer's [`Delivery::reply`], whose `correlation_id` is the
//!   request's `id`.
//! * **Typed failures.** [`BusError::Unavailable`] means "the broker cannot be
//!   reached now; retry" (HTTP 503); adapters reconnect by themselves.

mod cause;
mod delivery;
mod limits;
mod message;
mod subscription;

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;

pub use cause::BusCause;
pub use delivery::{Delivery, QueueSubscription, Settle};
pub use limits::MAX_NAME_LEN;
pub use message::Message;
pub use subscription::{QueueMode, SubscriptionSpec};

/// Why a bus operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BusError {
    /// The broker cannot be reached, or the connection was lost before it
    /// answered. Retry later (HTTP 503); the adapter reconnects by itself.
    #[error("message broker unavailable: {0}")]
    Unavailable(#[source] BusCause),
    /// No reply to a request within the given time (HTTP 504).
    #[error("no reply within {0:?}")]
    Timeout(Duration),
    /// The broker refused the operation: a negative publisher confirm, or a
    /// declaration that conflicts with an existing queue.
    #[error("message broker refused: {0}")]
    Rejected(String),
    /// A mandatory message (every request is one) matched no queue.
    #[error("no queue is bound for routing key {0:?}")]
    Unroutable(String),
    /// A message or body that cannot be encoded or decoded.
    #[error("malformed message: {0}")]
    Malformed(#[source] BusCause),
    /// A subscription or message that breaks the port's rules (empty queue
    /// name, name too long, prefetch of zero, …): a programming error.
    #[error("invalid bus usage: {0}")]
    Invalid(String),
    /// [`Delivery::reply`] on a delivery that was not sent as a request.
    #[error("the delivery was not sent as a request: there is no one to reply to")]
    NotARequest,
}

impl BusError {
    /// Whether trying again later may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, BusError::Unavailable(_) | BusError::Timeout(_))
    }
}

/// Publishes messages with confirmation.
#[async_trait]
pub trait MessagePublisher: Send + Sync + fmt::Debug {
    /// Returns once the broker has taken responsibility for the message
    /// durably (publisher confirm), or fails: then it may or may not have been
    /// published, and a retry with the same [`Message::id`] is the way on.
    async fn publish(&self, message: Message) -> Result<(), BusError>;

    /// Publishes all, in order, and returns once all are confirmed (adapters
    /// pipeline them). On failure some may have been published.
    async fn publish_batch(&self, messages: Vec<Message>) -> Result<(), BusError> {
        for message in messages {
            self.publish(message).await?;
        }
        Ok(())
    }
}

/// Consumes messages.
#[async_trait]
pub trait MessageSubscriber: Send + Sync + fmt::Debug {
    /// Declares the queue and its bindings, then consumes. Fails with
    /// [`BusError::Unavailable`] when the broker cannot be reached now; once
    /// it returned, the subscription survives reconnections by itself.
    async fn subscribe(&self, spec: SubscriptionSpec) -> Result<QueueSubscription, BusError>;
}

/// Request/response over the bus.
#[async_trait]
pub trait MessageRequester: Send + Sync + fmt::Debug {
    /// Publishes `request` as mandatory with a private reply address and waits
    /// up to `timeout` for the reply ([`BusError::Timeout`]). A request whose
    /// reply is late is not withdrawn: the consumer may still process it, so
    /// requests must be idempotent (de-duplicated by id).
    async fn request(&self, request: Message, timeout: Duration) -> Result<Message, BusError>;
}

/// Everything a bus adapter offers; use as `Arc<dyn MessageBus>`.
pub trait MessageBus: MessagePublisher + MessageSubscriber + MessageRequester {}

impl<T: MessagePublisher + MessageSubscriber + MessageRequester> MessageBus for T {}
