//! A delivery and the subscription that yields them: a message owned by its
//! consumer until it is acknowledged, requeued or dead-lettered.

use std::fmt;

use async_trait::async_trait;
use tokio::sync::mpsc;

use super::{BusError, Message};

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
pub struct QueueSubscription {
    queue: String,
    deliveries: mpsc::Receiver<Delivery>,
}

impl QueueSubscription {
    /// For adapters: `deliveries` is fed by the adapter's consumer task, which
    /// stops when the receiver is dropped.
    pub fn new(queue: impl Into<String>, deliveries: mpsc::Receiver<Delivery>) -> Self {
        QueueSubscription {
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

    /// The next delivery if one is already here, without waiting (to gather a batch).
    pub fn try_next(&mut self) -> Option<Delivery> {
        self.deliveries.try_recv().ok()
    }
}
