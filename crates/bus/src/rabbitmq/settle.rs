//! Settling a RabbitMQ delivery: ack, nack with requeue, or dead-letter
//! (reject without requeue), and replying to a request.
//!
//! Guarantees: a delivery is settled at most once; one dropped unsettled is
//! nacked with requeue; settling on a channel that has closed since fails
//! with `Unavailable` (the broker redelivers the message anyway). For an
//! exclusive queue the delivery limit is counted here, by its only consumer,
//! since classic queues have no `x-delivery-limit`: a requeue past the limit
//! becomes a reject, which dead-letters it. Replies go through the default
//! exchange to the requester's direct reply-to address, with confirms.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use lapin::Acker;
use lapin::options::{BasicAckOptions, BasicNackOptions, BasicRejectOptions};
use orderflow_app::ports::bus::{BusError, Message, QueueMode, Settle, SubscriptionSpec};
use uuid::Uuid;

use super::error::from_lapin;
use super::publisher::Publisher;

/// How often each message of an exclusive queue came back. The queue has a
/// single consumer, this one, so it sees every return; entries leave when
/// their message is settled for good.
#[derive(Debug)]
pub(crate) struct Returns {
    limit: u32,
    counts: Mutex<HashMap<Uuid, u32>>,
}

impl Returns {
    pub(crate) fn for_spec(spec: &SubscriptionSpec) -> Option<Arc<Returns>> {
        (spec.mode == QueueMode::Exclusive).then(|| {
            Arc::new(Returns {
                limit: spec.delivery_limit,
                counts: Mutex::new(HashMap::new()),
            })
        })
    }

    /// Counts one more return; whether it is over the limit.
    fn over_limit(&self, id: Uuid) -> bool {
        let mut counts = self
            .counts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let count = counts.entry(id).or_insert(0);
        *count += 1;
        if *count > self.limit {
            counts.remove(&id);
            return true;
        }
        false
    }

    fn forget(&self, id: Uuid) {
        self.counts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&id);
    }
}

#[derive(Debug)]
pub(crate) struct RabbitSettle {
    /// `None` once settled.
    pub(crate) acker: Option<Acker>,
    pub(crate) message_id: Uuid,
    pub(crate) reply_to: Option<String>,
    /// Counted here for exclusive queues; the broker counts for quorum queues.
    pub(crate) returns: Option<Arc<Returns>>,
    pub(crate) publisher: Arc<Publisher>,
}

/// What to tell the broker.
#[derive(Debug, Clone, Copy)]
enum Outcome {
    Ack,
    Requeue,
    DeadLetter,
}

async fn settle(
    acker: Acker,
    outcome: Outcome,
    message_id: Uuid,
    returns: Option<&Returns>,
) -> Result<(), BusError> {
    let outcome = match (outcome, returns) {
        (Outcome::Requeue, Some(returns)) if returns.over_limit(message_id) => {
            tracing::warn!(%message_id, "delivery limit reached, dead-lettering");
            Outcome::DeadLetter
        }
        (Outcome::Ack | Outcome::DeadLetter, Some(returns)) => {
            returns.forget(message_id);
            outcome
        }
        _ => outcome,
    };
    let done = match outcome {
        Outcome::Ack => acker.ack(BasicAckOptions::default()).await,
        Outcome::Requeue => {
            acker
                .nack(BasicNackOptions {
                    requeue: true,
                    multiple: false,
                })
                .await
        }
        Outcome::DeadLetter => acker.reject(BasicRejectOptions { requeue: false }).await,
    }
    .map_err(|e| from_lapin("settling a delivery", &e))?;
    if done {
        Ok(())
    } else {
        Err(BusError::Unavailable(
            "the delivery's channel closed; the broker redelivers the message".into(),
        ))
    }
}

impl RabbitSettle {
    async fn finish(mut self: Box<Self>, outcome: Outcome) -> Result<(), BusError> {
        let Some(acker) = self.acker.take() else {
            return Ok(());
        };
        settle(acker, outcome, self.message_id, self.returns.as_deref()).await
    }
}

#[async_trait]
impl Settle for RabbitSettle {
    async fn ack(self: Box<Self>) -> Result<(), BusError> {
        self.finish(Outcome::Ack).await
    }

    async fn nack(self: Box<Self>, requeue: bool) -> Result<(), BusError> {
        let outcome = if requeue {
            Outcome::Requeue
        } else {
            Outcome::DeadLetter
        };
        self.finish(outcome).await
    }

    async fn reject(self: Box<Self>) -> Result<(), BusError> {
        self.finish(Outcome::DeadLetter).await
    }

    async fn reply(&self, mut reply: Message) -> Result<(), BusError> {
        let reply_to = self.reply_to.as_ref().ok_or(BusError::NotARequest)?;
        // Straight to the requester's channel through the default exchange.
        reply.routing_key.clone_from(reply_to);
        reply.mandatory = false;
        self.publisher
            .publish("", std::slice::from_ref(&reply))
            .await
    }

    fn is_request(&self) -> bool {
        self.reply_to.is_some()
    }
}

impl Drop for RabbitSettle {
    fn drop(&mut self) {
        let Some(acker) = self.acker.take() else {
            return;
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return; // No runtime left: the channel closes and the broker requeues.
        };
        let returns = self.returns.clone();
        let message_id = self.message_id;
        runtime.spawn(async move {
            let _ = settle(acker, Outcome::Requeue, message_id, returns.as_deref()).await;
        });
    }
}
