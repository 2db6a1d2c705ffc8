//! The in-process bus: the embedded default, for `orderflow up`.
//!
//! It keeps the broker's semantics so that code tested on it behaves the
//! same on RabbitMQ: topic routing ([`crate::topic_matches`]), shared queues
//! with competing consumers and exclusive per-subscriber queues, prefetch,
//! ack / nack / requeue with `redelivered`, a delivery limit, and a
//! dead-letter list ([`InProcessBus::dead_letters`]). Queues are bounded: a
//! publish waits while a queue it routes to is full and never drops a
//! message silently. Requests carry a oneshot reply slot.
//!
//! Nothing survives the process: "durable" here means "outlives its
//! subscribers", and a publish is confirmed once the message is enqueued.

mod consumer;
mod queue;

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use orderflow_app::ports::bus::{
    BusError, Message, MessagePublisher, MessageRequester, MessageSubscriber, QueueMode,
    QueueSubscription, SubscriptionSpec,
};
use tokio::sync::oneshot;

use self::consumer::spawn_consumer;
use self::queue::{Envelope, Queue, ReplySlot, lock};

/// Limits of the in-process bus.
#[derive(Debug, Clone)]
pub struct InProcessConfig {
    /// Messages a queue holds (ready and unsettled) before publishers wait.
    pub queue_capacity: usize,
    /// Dead letters kept for inspection; the oldest are forgotten beyond it.
    pub dead_letter_capacity: usize,
}

impl Default for InProcessConfig {
    fn default() -> Self {
        InProcessConfig {
            queue_capacity: 10_000,
            dead_letter_capacity: 10_000,
        }
    }
}

/// Why a message was dead-lettered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeadLetterReason {
    /// Rejected, or nacked without requeue, by a consumer.
    Rejected,
    /// Requeued more often than the queue's delivery limit.
    DeliveryLimit,
}

/// A message that left its queue without being acknowledged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    pub queue: String,
    pub message: Message,
    pub reason: DeadLetterReason,
}

/// The in-process bus; clones share the same queues.
#[derive(Debug, Clone, Default)]
pub struct InProcessBus {
    shared: Arc<Shared>,
}

#[derive(Debug, Default)]
pub(crate) struct Shared {
    config: InProcessConfig,
    queues: Mutex<HashMap<String, Arc<Queue>>>,
    dead_letters: Mutex<VecDeque<DeadLetter>>,
}

impl Shared {
    fn queues_for(&self, routing_key: &str) -> Vec<Arc<Queue>> {
        lock(&self.queues)
            .values()
            .filter(|queue| queue.routes(routing_key))
            .cloned()
            .collect()
    }

    pub(crate) fn remove_queue(&self, queue: &Arc<Queue>) {
        let mut queues = lock(&self.queues);
        if queues
            .get(&queue.name)
            .is_some_and(|current| Arc::ptr_eq(current, queue))
        {
            queues.remove(&queue.name);
        }
        queue.delete();
    }

    pub(crate) fn dead_letter(&self, queue: &str, message: Message, reason: DeadLetterReason) {
        tracing::warn!(queue, message_id = %message.id, kind = %message.kind, ?reason, "message dead-lettered");
        let mut dead_letters = lock(&self.dead_letters);
        if dead_letters.len() >= self.config.dead_letter_capacity.max(1) {
            dead_letters.pop_front();
        }
        dead_letters.push_back(DeadLetter {
            queue: queue.to_owned(),
            message,
            reason,
        });
    }
}

impl InProcessBus {
    pub fn new(config: InProcessConfig) -> Self {
        InProcessBus {
            shared: Arc::new(Shared {
                config,
                ..Shared::default()
            }),
        }
    }

    /// The dead-lettered messages still kept, oldest first.
    pub fn dead_letters(&self) -> Vec<DeadLetter> {
        lock(&self.shared.dead_letters).iter().cloned().collect()
    }

    /// Enqueues `message` in every queue it routes to, waiting for room.
    async fn route(&self, mut message: Message, reply: Option<ReplySlot>) -> Result<(), BusError> {
        message.validate()?;
        let queues = self.shared.queues_for(&message.routing_key);
        if queues.is_empty() {
            if message.mandatory {
                return Err(BusError::Unroutable(message.routing_key));
            }
            tracing::debug!(routing_key = %message.routing_key, "message routed to no queue");
            return Ok(());
        }
        message.mandatory = false;
        for queue in queues {
            // A queue deleted while we waited for room no longer wants it.
            let Some(capacity) = queue.reserve().await else {
                continue;
            };
            queue.push_back(Envelope {
                message: message.clone(),
                redelivered: false,
                returns: 0,
                reply: reply.clone(),
                _capacity: capacity,
            });
        }
        Ok(())
    }
}

#[async_trait]
impl MessagePublisher for InProcessBus {
    async fn publish(&self, message: Message) -> Result<(), BusError> {
        self.route(message, None).await
    }
}

#[async_trait]
impl MessageSubscriber for InProcessBus {
    async fn subscribe(&self, spec: SubscriptionSpec) -> Result<QueueSubscription, BusError> {
        spec.validate()?;
        let queue = {
            let mut queues = lock(&self.shared.queues);
            match queues.get(&spec.queue) {
                Some(existing)
                    if spec.mode == QueueMode::Exclusive
                        || existing.mode == QueueMode::Exclusive =>
                {
                    return Err(BusError::Rejected(format!(
                        "queue {:?} is in use by another subscriber as {:?}",
                        spec.queue, existing.mode
                    )));
                }
                Some(existing) => {
                    existing.bind(&spec.bindings);
                    existing.clone()
                }
                None => {
                    let queue = Arc::new(Queue::new(
                        spec.queue.clone(),
                        spec.mode,
                        spec.delivery_limit,
                        spec.bindings.clone(),
                        self.shared.config.queue_capacity,
                    ));
                    queues.insert(spec.queue.clone(), queue.clone());
                    queue
                }
            }
        };
        Ok(spawn_consumer(self.shared.clone(), queue, spec.prefetch))
    }
}

#[async_trait]
impl MessageRequester for InProcessBus {
    async fn request(&self, request: Message, timeout: Duration) -> Result<Message, BusError> {
        let (requester, reply) = oneshot::channel();
        let slot: ReplySlot = Arc::new(Mutex::new(Some(requester)));
        let exchange = async {
            self.route(request.mandatory(), Some(slot)).await?;
            // Every copy settled without a reply: none will ever come.
            reply.await.map_err(|_| BusError::Timeout(timeout))
        };
        tokio::time::timeout(timeout, exchange)
            .await
            .map_err(|_| BusError::Timeout(timeout))?
    }
}
