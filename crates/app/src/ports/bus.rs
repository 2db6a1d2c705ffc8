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
//!   [`Message::id`] with a [`Deduplicator`], which is best effort within its
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

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::mpsc;
use tokio::time::Instant;
use uuid::Uuid;

/// Why a bus operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BusError {
    /// The broker cannot be reached, or the connection was lost before it
    /// answered. Retry later (HTTP 503); the adapter reconnects by itself.
    #[error("message broker unavailable: {0}")]
    Unavailable(String),
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
    Malformed(String),
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

/// The longest routing key, kind or queue name AMQP can carry (a short string).
pub const MAX_NAME_LEN: usize = 255;

/// One message on the bus. Bodies are JSON by contract (see `DESIGN.md`), kept
/// as bytes so that they travel unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Unique per message, kept across retries and redeliveries: consumers
    /// de-duplicate by it. AMQP `message_id`.
    pub id: Uuid,
    /// What the body is, e.g. `PushUpdateIntegrationMessage`. AMQP `type`.
    pub kind: String,
    /// Topic routing key, e.g. `push.order-confirmed`.
    pub routing_key: String,
    /// AMQP `correlation_id`. On a reply it is the request's [`Message::id`].
    pub correlation_id: Option<Uuid>,
    /// Text headers. Names starting with `x-` are reserved for the broker.
    pub headers: BTreeMap<String, String>,
    /// The body, JSON by contract.
    pub body: Vec<u8>,
    /// Publish only if some queue takes it, else fail with
    /// [`BusError::Unroutable`] (AMQP `mandatory`). Not carried to consumers.
    pub mandatory: bool,
}

impl Message {
    /// A message with a fresh (time-ordered) id.
    pub fn new(kind: impl Into<String>, routing_key: impl Into<String>, body: Vec<u8>) -> Self {
        Message {
            id: Uuid::now_v7(),
            kind: kind.into(),
            routing_key: routing_key.into(),
            correlation_id: None,
            headers: BTreeMap::new(),
            body,
            mandatory: false,
        }
    }

    /// A message whose body is `value` as JSON.
    pub fn json<T: Serialize + ?Sized>(
        kind: impl Into<String>,
        routing_key: impl Into<String>,
        value: &T,
    ) -> Result<Self, BusError> {
        let body = serde_json::to_vec(value).map_err(|e| BusError::Malformed(e.to_string()))?;
        Ok(Message::new(kind, routing_key, body))
    }

    /// The body decoded from JSON.
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, BusError> {
        serde_json::from_slice(&self.body)
            .map_err(|e| BusError::Malformed(format!("{} body: {e}", self.kind)))
    }

    /// Keep a given id, e.g. derived from the event it announces, so a retried
    /// publish carries the same id.
    pub fn with_id(mut self, id: Uuid) -> Self {
        self.id = id;
        self
    }

    pub fn with_correlation_id(mut self, correlation_id: Uuid) -> Self {
        self.correlation_id = Some(correlation_id);
        self
    }

    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.insert(name.into(), value.into());
        self
    }

    /// Fail with [`BusError::Unroutable`] instead of dropping the message when
    /// no queue is bound for it.
    pub fn mandatory(mut self) -> Self {
        self.mandatory = true;
        self
    }

    /// Checks the limits every adapter relies on.
    pub fn validate(&self) -> Result<(), BusError> {
        check_name("routing key", &self.routing_key, true)?;
        check_name("message kind", &self.kind, false)?;
        for name in self.headers.keys() {
            check_name("header name", name, false)?;
        }
        Ok(())
    }
}

fn check_name(what: &str, value: &str, may_be_empty: bool) -> Result<(), BusError> {
    if !may_be_empty && value.is_empty() {
        return Err(BusError::Invalid(format!("{what} is empty")));
    }
    if value.len() > MAX_NAME_LEN {
        return Err(BusError::Invalid(format!(
            "{what} is {} bytes long, at most {MAX_NAME_LEN} allowed",
            value.len()
        )));
    }
    Ok(())
}

/// How a subscription's queue is shared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueMode {
    /// Durable, survives restarts; subscribers with the same queue name are
    /// competing consumers. RabbitMQ: a quorum queue.
    Shared,
    /// Private to one subscriber and deleted with it (fan-out: one queue per
    /// instance). RabbitMQ: an exclusive, auto-delete classic queue.
    Exclusive,
}

/// What to consume: a queue, its bindings and how it is shared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionSpec {
    /// Queue name. For [`QueueMode::Exclusive`] use [`SubscriptionSpec::exclusive`],
    /// which makes it unique.
    pub queue: String,
    /// Topic patterns bound to the queue (`orders.*`, `push.#`). Bindings are
    /// added to a shared queue, never removed.
    pub bindings: Vec<String>,
    pub mode: QueueMode,
    /// Most unsettled deliveries this subscriber holds at once (at least 1).
    pub prefetch: u16,
    /// How often a message may be requeued before it is dead-lettered.
    /// RabbitMQ: the quorum queue's `x-delivery-limit`, fixed when the queue
    /// is first declared.
    pub delivery_limit: u32,
    /// A shared queue left without consumers this long is deleted by the
    /// broker (RabbitMQ `x-expires`); `None` keeps it for ever.
    pub expires_after: Option<Duration>,
}

impl SubscriptionSpec {
    pub const DEFAULT_PREFETCH: u16 = 32;
    pub const DEFAULT_DELIVERY_LIMIT: u32 = 10;

    /// A durable queue shared by every subscriber with this name.
    pub fn shared(queue: impl Into<String>, bindings: &[&str]) -> Self {
        SubscriptionSpec {
            queue: queue.into(),
            bindings: bindings.iter().map(|b| (*b).to_owned()).collect(),
            mode: QueueMode::Shared,
            prefetch: Self::DEFAULT_PREFETCH,
            delivery_limit: Self::DEFAULT_DELIVERY_LIMIT,
            expires_after: None,
        }
    }

    /// A durable queue of this instance alone, named `{prefix}.{unique id}`,
    /// for fan-out that survives a broker restart: unlike an exclusive
    /// queue it keeps what is published while the instance reconnects. The
    /// broker deletes it once it has had no consumer for `expires_after`
    /// (the instance is gone).
    pub fn per_instance(prefix: &str, bindings: &[&str], expires_after: Duration) -> Self {
        SubscriptionSpec {
            queue: format!("{prefix}.{}", Uuid::new_v4().simple()),
            expires_after: Some(expires_after),
            ..SubscriptionSpec::shared(String::new(), bindings)
        }
    }

    /// A queue private to this subscriber, named `{prefix}.{unique id}`.
    pub fn exclusive(prefix: &str, bindings: &[&str]) -> Self {
        SubscriptionSpec {
            queue: format!("{prefix}.{}", Uuid::new_v4().simple()),
            mode: QueueMode::Exclusive,
            ..SubscriptionSpec::shared(String::new(), bindings)
        }
    }

    pub fn with_prefetch(mut self, prefetch: u16) -> Self {
        self.prefetch = prefetch;
        self
    }

    pub fn with_delivery_limit(mut self, delivery_limit: u32) -> Self {
        self.delivery_limit = delivery_limit;
        self
    }

    /// Checks the limits every adapter relies on.
    pub fn validate(&self) -> Result<(), BusError> {
        check_name("queue name", &self.queue, false)?;
        if self.queue.starts_with("amq.") {
            return Err(BusError::Invalid(
                "queue names starting with \"amq.\" are reserved".into(),
            ));
        }
        for binding in &self.bindings {
            check_name("binding", binding, true)?;
        }
        if self.prefetch == 0 {
            return Err(BusError::Invalid("prefetch must be at least 1".into()));
        }
        if self
            .expires_after
            .is_some_and(|expiry| expiry < Duration::from_millis(1))
        {
            return Err(BusError::Invalid("a queue expiry is at least 1 ms".into()));
        }
        Ok(())
    }
}

/// Settles one delivery on its adapter. Adapters implement it; consumers use
/// the methods of [`Delivery`].
#[async_trait]
pub trait Settle: Send + Sync + fmt::Debug {
    async fn ack(self: Box<Self>) -> Result<(), BusError>;
    async fn nack(self: Box<Self>, requeue: bool) -> Result<(), BusError>;
    async fn reject(self: Box<Self>) -> Result<(), BusError>;
    /// Sends `reply` to the requester, if the delivery is a request.
    async fn reply(&self, reply: Message) -> Result<(), BusError>;
    /// Whether the delivery carries a reply address.
    fn is_request(&self) -> bool;
}

/// A message handed to a consumer, owned by it until settled.
#[derive(Debug)]
pub struct Delivery {
    pub message: Message,
    /// The message was delivered before and not acknowledged (a nack with
    /// requeue, or a consumer that went away).
    pub redelivered: bool,
    settle: Box<dyn Settle>,
}

impl Delivery {
    /// For adapters.
    pub fn new(message: Message, redelivered: bool, settle: Box<dyn Settle>) -> Self {
        Delivery {
            message,
            redelivered,
            settle,
        }
    }

    /// Done: the message leaves the queue.
    pub async fn ack(self) -> Result<(), BusError> {
        self.settle.ack().await
    }

    /// Not done: `requeue` hands it back for redelivery (until the delivery
    /// limit), otherwise it is dead-lettered.
    pub async fn nack(self, requeue: bool) -> Result<(), BusError> {
        self.settle.nack(requeue).await
    }

    /// Never processable: the message goes to the dead-letter queue.
    pub async fn reject(self) -> Result<(), BusError> {
        self.settle.reject().await
    }

    /// Whether [`Delivery::reply`] has someone to answer.
    pub fn is_request(&self) -> bool {
        self.settle.is_request()
    }

    /// Answers a request. The reply's `correlation_id` is set to the request's
    /// id and it is sent straight to the requester, not through topic routing.
    /// Replying does not settle the delivery: ack it afterwards. A reply to a
    /// requester that has stopped waiting is dropped.
    pub async fn reply(&self, mut reply: Message) -> Result<(), BusError> {
        reply.correlation_id = Some(self.message.id);
        reply.validate()?;
        self.settle.reply(reply).await
    }
}

/// The deliveries of one subscription, in queue order. Dropping it cancels
/// the subscription: deliveries not yet settled are requeued, and an
/// exclusive queue is deleted.
#[derive(Debug)]
pub struct Subscription {
    queue: String,
    deliveries: mpsc::Receiver<Delivery>,
}

impl Subscription {
    /// For adapters: `deliveries` is fed by the adapter's consumer task, which
    /// stops when the receiver is dropped.
    pub fn new(queue: impl Into<String>, deliveries: mpsc::Receiver<Delivery>) -> Self {
        Subscription {
            queue: queue.into(),
            deliveries,
        }
    }

    /// The queue's name (unique for an exclusive queue).
    pub fn queue(&self) -> &str {
        &self.queue
    }

    /// The next delivery; `None` once the bus has shut down.
    pub async fn next(&mut self) -> Option<Delivery> {
        self.deliveries.recv().await
    }

    pub fn into_receiver(self) -> mpsc::Receiver<Delivery> {
        self.deliveries
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
    async fn subscribe(&self, spec: SubscriptionSpec) -> Result<Subscription, BusError>;
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

/// Remembers recently handled message ids, so a consumer can skip a message
/// it has already handled: at most `capacity` ids, each for at most `window`.
///
/// Best effort: an id older than the window, evicted by newer ones, or seen by
/// another instance is not recognised. At-least-once stays the contract and
/// handlers stay idempotent; this only saves repeated work.
///
/// Record an id only once its message is handled ([`Deduplicator::record`]
/// after the work, before the ack): recording first would make a redelivery of
/// a message whose handling failed look like a duplicate.
#[derive(Debug)]
pub struct Deduplicator {
    capacity: usize,
    window: Duration,
    seen: HashMap<Uuid, Instant>,
    order: VecDeque<(Uuid, Instant)>,
}

impl Deduplicator {
    /// At most `capacity` ids (at least one), each kept for `window`.
    pub fn new(capacity: usize, window: Duration) -> Self {
        Deduplicator {
            capacity: capacity.max(1),
            window,
            seen: HashMap::new(),
            order: VecDeque::new(),
        }
    }

    /// Whether `id` was recorded within the window.
    pub fn is_duplicate(&mut self, id: Uuid) -> bool {
        self.expire(Instant::now());
        self.seen.contains_key(&id)
    }

    /// Remembers `id` as handled, now.
    pub fn record(&mut self, id: Uuid) {
        let now = Instant::now();
        self.expire(now);
        self.seen.insert(id, now);
        self.order.push_back((id, now));
        while self.seen.len() > self.capacity {
            self.pop_oldest();
        }
    }

    /// [`Deduplicator::is_duplicate`], then [`Deduplicator::record`]: `true`
    /// the first time. For handlers that cannot fail half-way.
    pub fn first_time(&mut self, id: Uuid) -> bool {
        if self.is_duplicate(id) {
            return false;
        }
        self.record(id);
        true
    }

    /// How many ids are remembered.
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }

    fn expire(&mut self, now: Instant) {
        while let Some(&(_, at)) = self.order.front() {
            if now.duration_since(at) < self.window {
                break;
            }
            self.pop_oldest();
        }
    }

    fn pop_oldest(&mut self) {
        let Some((id, at)) = self.order.pop_front() else {
            return;
        };
        // A re-recorded id has a newer entry further back: keep it.
        if self.seen.get(&id) == Some(&at) {
            self.seen.remove(&id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dedup() -> Deduplicator {
        Deduplicator::new(3, Duration::from_secs(60))
    }

    #[tokio::test(start_paused = true)]
    async fn a_recorded_id_is_a_duplicate_within_the_window_only() {
        let mut dedup = dedup();
        let id = Uuid::new_v4();
        assert!(dedup.first_time(id));
        assert!(!dedup.first_time(id));
        tokio::time::advance(Duration::from_secs(61)).await;
        assert!(!dedup.is_duplicate(id));
        assert!(dedup.is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn the_oldest_ids_are_forgotten_beyond_the_capacity() {
        let mut dedup = dedup();
        let ids: Vec<Uuid> = (0..4).map(|_| Uuid::new_v4()).collect();
        for id in &ids {
            dedup.record(*id);
        }
        assert_eq!(dedup.len(), 3);
        assert!(!dedup.is_duplicate(ids[0]));
        assert!(ids[1..].iter().all(|id| dedup.is_duplicate(*id)));
    }

    #[tokio::test(start_paused = true)]
    async fn recording_again_restarts_the_window() {
        let mut dedup = dedup();
        let id = Uuid::new_v4();
        dedup.record(id);
        tokio::time::advance(Duration::from_secs(40)).await;
        dedup.record(id);
        tokio::time::advance(Duration::from_secs(40)).await;
        assert!(dedup.is_duplicate(id));
        assert_eq!(dedup.len(), 1);
    }

    #[test]
    fn names_longer_than_amqp_allows_are_refused() {
        let message = Message::new("Kind", "k".repeat(256), Vec::new());
        assert!(matches!(message.validate(), Err(BusError::Invalid(_))));
        let spec = SubscriptionSpec::shared("", &["#"]);
        assert!(matches!(spec.validate(), Err(BusError::Invalid(_))));
        let spec = SubscriptionSpec::exclusive("hub", &["push.#"]).with_prefetch(0);
        assert!(matches!(spec.validate(), Err(BusError::Invalid(_))));
    }

    #[test]
    fn an_exclusive_queue_name_is_unique() {
        let a = SubscriptionSpec::exclusive("hub", &["push.#"]);
        let b = SubscriptionSpec::exclusive("hub", &["push.#"]);
        assert_ne!(a.queue, b.queue);
        assert!(a.queue.starts_with("hub."));
        assert!(a.validate().is_ok());
    }
}
