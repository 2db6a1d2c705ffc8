//! In-process consumers and how their deliveries are settled.
//!
//! Guarantees: a subscriber holds at most `prefetch` unsettled deliveries
//! (each holds one unit of its credit until settled); subscribers of one
//! queue compete, each message going to one of them; a nack with requeue, or
//! a delivery dropped unsettled, puts the message back at the head of its
//! queue flagged `redelivered`, until it has come back more than the queue's
//! delivery limit, when it is dead-lettered instead, as `reject` does.

use std::sync::Arc;

use async_trait::async_trait;
use orderflow_app::ports::bus::{
    BusError, Delivery, Message, QueueMode, QueueSubscription, Settle,
};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};

use super::queue::{Envelope, Queue, lock};
use super::{DeadLetterReason, Shared};

/// Starts the task that feeds a subscription from `queue`.
pub(crate) fn spawn_consumer(
    shared: Arc<Shared>,
    queue: Arc<Queue>,
    prefetch: u16,
) -> QueueSubscription {
    let (deliveries, receiver) = mpsc::channel(1);
    let subscription = QueueSubscription::new(queue.name.clone(), receiver);
    tokio::spawn(feed(shared, queue, prefetch, deliveries));
    subscription
}

async fn feed(
    shared: Arc<Shared>,
    queue: Arc<Queue>,
    prefetch: u16,
    deliveries: mpsc::Sender<Delivery>,
) {
    let credit = Arc::new(Semaphore::new(usize::from(prefetch)));
    loop {
        let permit = tokio::select! {
            permit = credit.clone().acquire_owned() => permit,
            () = deliveries.closed() => break,
        };
        let Ok(permit) = permit else { break };
        let envelope = tokio::select! {
            envelope = queue.take() => envelope,
            () = deliveries.closed() => break,
        };
        let delivery = Delivery::new(
            envelope.message.clone(),
            envelope.redelivered,
            Box::new(InProcessSettle {
                shared: shared.clone(),
                queue: queue.clone(),
                envelope: Some(envelope),
                _credit: permit,
            }),
        );
        // On failure the delivery is dropped here, which requeues it.
        if deliveries.send(delivery).await.is_err() {
            break;
        }
    }
    if queue.mode == QueueMode::Exclusive {
        shared.remove_queue(&queue);
    }
    tracing::debug!(queue = %queue.name, "in-process subscription ended");
}

/// Settles one delivery; dropping it unsettled requeues the message.
#[derive(Debug)]
struct InProcessSettle {
    shared: Arc<Shared>,
    queue: Arc<Queue>,
    /// `None` once settled.
    envelope: Option<Envelope>,
    /// One unit of the subscriber's prefetch, freed when settled.
    _credit: OwnedSemaphorePermit,
}

impl InProcessSettle {
    fn requeue(&self, mut envelope: Envelope) {
        envelope.returns += 1;
        if envelope.returns > self.queue.delivery_limit {
            self.dead_letter(envelope, DeadLetterReason::DeliveryLimit);
            return;
        }
        envelope.redelivered = true;
        self.queue.push_front(envelope);
    }

    fn dead_letter(&self, envelope: Envelope, reason: DeadLetterReason) {
        self.shared
            .dead_letter(&self.queue.name, envelope.message, reason);
    }
}

#[async_trait]
impl Settle for InProcessSettle {
    async fn ack(mut self: Box<Self>) -> Result<(), BusError> {
        drop(self.envelope.take());
        Ok(())
    }

    async fn nack(mut self: Box<Self>, requeue: bool) -> Result<(), BusError> {
        if let Some(envelope) = self.envelope.take() {
            if requeue {
                self.requeue(envelope);
            } else {
                self.dead_letter(envelope, DeadLetterReason::Rejected);
            }
        }
        Ok(())
    }

    async fn reject(self: Box<Self>) -> Result<(), BusError> {
        self.nack(false).await
    }

    async fn reply(&self, reply: Message) -> Result<(), BusError> {
        let slot = self
            .envelope
            .as_ref()
            .and_then(|envelope| envelope.reply.clone())
            .ok_or(BusError::NotARequest)?;
        if let Some(requester) = lock(&slot).take() {
            // The requester may have stopped waiting: the reply is dropped.
            let _ = requester.send(reply);
        }
        Ok(())
    }

    fn is_request(&self) -> bool {
        self.envelope
            .as_ref()
            .is_some_and(|envelope| envelope.reply.is_some())
    }
}

impl Drop for InProcessSettle {
    fn drop(&mut self) {
        if let Some(envelope) = self.envelope.take() {
            self.requeue(envelope);
        }
    }
}
