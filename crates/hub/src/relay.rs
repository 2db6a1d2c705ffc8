//! The relay from the broker to connected users: consumes `PushUpdateIntegrationMessage`s
//! through this hub instance's own queue (bound to `push-update.#`, so every instance sees
//! every update and users connected anywhere are reached). The queue is durable, not
//! exclusive, so updates published while the broker restarts and the relay reconnects wait
//! in it instead of being dropped as unroutable; the broker deletes it ten minutes after this
//! instance is gone.
//!
//! Guarantees:
//! - the first subscription is retried with backoff until it succeeds or the shutdown future
//!   resolves; [`PushRelay::subscribed`] turns true once it is in place (the hub's readiness);
//! - deliveries are taken in the broker's order and each is queued on its users' connections
//!   at once ([`PushHub::start_push`]), so every connection gets its pushes in order; the
//!   acknowledgements are then awaited concurrently, one task per delivery, and the broker is
//!   acknowledged once every connection of that delivery has answered or timed out — without
//!   holding up the next delivery. No connection, user or message delays another user's push;
//! - at most [`IN_FLIGHT`] deliveries wait for their acknowledgements at once (the prefetch
//!   is the same number, so the broker sends no more). Sizing: at 500 pushes/s over 1,000
//!   users of whom 10 are frozen, 1 % of the pushes (5/s) go to a frozen connection and each
//!   holds its delivery for the 5 s acknowledgement timeout: 5/s × 5 s = 25 deliveries; the
//!   other 495/s are answered within a round trip (say 20 ms): about 10 more. 35 of 256 leaves
//!   room for seven times as many frozen users, and fewer are held in practice: a connection
//!   that never answered stops being awaited after two timeouts (see `handle`), and a frozen
//!   one is closed at the client timeout (30 s) or when its outgoing buffer is full;
//! - a repeated message id within the window is acknowledged without pushing again; a message
//!   that does not decode is rejected to the dead-letter queue;
//! - when the shutdown future resolves, no new delivery is taken, and the ones in flight are
//!   finished (acknowledged) before the relay's task ends.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use orderflow_app::messaging::Deduplicator;
use orderflow_app::ports::bus::{Delivery, MessageSubscriber, QueueSubscription, SubscriptionSpec};
use orderflow_app::push::{PUSH_UPDATE_ROUTING_PREFIX, PushUpdateIntegrationMessage};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

use crate::PushHub;

/// Messages remembered for de-duplication.
const DEDUP_CAPACITY: usize = 100_000;
/// How long a message id is remembered.
const DEDUP_WINDOW: Duration = Duration::from_secs(600);
/// How long this instance's queue outlives its last consumer.
const QUEUE_EXPIRY: Duration = Duration::from_secs(600);
/// Deliveries waiting for their acknowledgements at once, and the broker's prefetch.
pub const IN_FLIGHT: u16 = 256;
/// The first pause between failed subscription attempts, doubled up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// The running relay.
#[derive(Debug)]
pub struct PushRelay {
    subscribed: watch::Receiver<bool>,
    task: JoinHandle<()>,
}

impl PushRelay {
    /// True while the subscription to push updates is in place.
    pub fn subscribed(&self) -> watch::Receiver<bool> {
        self.subscribed.clone()
    }

    /// Waits until the relay has stopped (after its shutdown future resolved, or the bus
    /// closed), its deliveries in flight acknowledged.
    pub async fn stopped(self) {
        if let Err(error) = self.task.await {
            tracing::warn!(%error, "the push relay's task failed");
        }
    }
}

/// Starts relaying push updates from `bus` to `hub` until `shutdown` resolves.
pub fn start_push_relay(
    hub: PushHub,
    bus: Arc<dyn MessageSubscriber>,
    ack_timeout: Duration,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> PushRelay {
    let (subscribed_tx, subscribed) = watch::channel(false);
    let task = tokio::spawn(async move {
        tokio::pin!(shutdown);
        let Some(subscription) = subscribe(&*bus, &mut shutdown).await else {
            return;
        };
        subscribed_tx.send_replace(true);
        relay(&hub, subscription, ack_timeout, &mut shutdown).await;
        subscribed_tx.send_replace(false);
        tracing::info!("push relay stopped");
    });
    PushRelay { subscribed, task }
}

/// Subscribes, retrying with backoff; `None` when shutdown came first.
async fn subscribe(
    bus: &dyn MessageSubscriber,
    shutdown: &mut (impl Future<Output = ()> + Unpin),
) -> Option<QueueSubscription> {
    let binding = format!("{PUSH_UPDATE_ROUTING_PREFIX}#");
    let spec = SubscriptionSpec::per_instance("push-hub", &[binding.as_str()], QUEUE_EXPIRY)
        .with_prefetch(IN_FLIGHT);
    let mut backoff = FIRST_BACKOFF;
    loop {
        tokio::select! {
            () = &mut *shutdown => return None,
            subscribed = bus.subscribe(spec.clone()) => match subscribed {
                Ok(subscription) => return Some(subscription),
                Err(error) => {
                    tracing::warn!(%error, ?backoff, "cannot subscribe the hub to push updates; retrying");
                    tokio::select! {
                        () = &mut *shutdown => return None,
                        () = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            },
        }
    }
}

async fn relay(
    hub: &PushHub,
    mut subscription: QueueSubscription,
    ack_timeout: Duration,
    shutdown: &mut (impl Future<Output = ()> + Unpin),
) {
    let mut seen = Deduplicator::new(DEDUP_CAPACITY, DEDUP_WINDOW);
    let mut in_flight = JoinSet::new();
    loop {
        tokio::select! {
            biased;
            () = &mut *shutdown => break,
            Some(finished) = in_flight.join_next(), if !in_flight.is_empty() => {
                if let Err(error) = finished {
                    tracing::warn!(%error, "a relayed push's task failed");
                }
            }
            delivery = subscription.next(), if in_flight.len() < usize::from(IN_FLIGHT) => {
                let Some(delivery) = delivery else { break };
                in_flight.spawn(start(hub, delivery, &mut seen, ack_timeout));
            }
        }
    }
    while in_flight.join_next().await.is_some() {}
}

/// Queues `delivery`'s push on every connection now; the returned future awaits the
/// acknowledgements and then settles the delivery with the broker.
fn start(
    hub: &PushHub,
    delivery: Delivery,
    seen: &mut Deduplicator,
    ack_timeout: Duration,
) -> impl Future<Output = ()> + Send + 'static {
    let started = match delivery.message.decode::<PushUpdateIntegrationMessage>() {
        Err(error) => {
            tracing::warn!(%error, message_id = %delivery.message.id, "undecodable push update, dead-lettering");
            Err(())
        }
        Ok(message) if seen.is_duplicate(message.message_id) => {
            tracing::debug!(message_id = %message.message_id, "repeated push update skipped");
            Ok(None)
        }
        Ok(message) => {
            seen.record(message.message_id);
            let pending = hub.start_push(
                &message.subscriber_ids,
                message.push_update_argument(),
                ack_timeout,
            );
            Ok(Some((message.message_id, pending)))
        }
    };
    async move {
        let settled = match started {
            Err(()) => delivery.reject().await,
            Ok(None) => delivery.ack().await,
            Ok(Some((message_id, pending))) => {
                let report = pending.finish().await;
                tracing::debug!(
                    %message_id,
                    delivered = report.delivered.len(),
                    timed_out = report.timed_out.len(),
                    unacknowledged = report.unacknowledged.len(),
                    "push update relayed"
                );
                delivery.ack().await
            }
        };
        if let Err(error) = settled {
            // The broker will redeliver; the de-duplicator drops the repeat.
            tracing::warn!(%error, "cannot settle a push update");
        }
    }
}

#[cfg(test)]
#[path = "relay_tests.rs"]
mod tests;
