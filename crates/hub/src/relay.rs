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
//!   acknowledgements are then awaited concurrently, one task per delivery, and (without an
//!   inbox) the broker is acknowledged once every connection of that delivery has answered or
//!   timed out — without holding up the next delivery. No connection, user or message delays another user's push;
//! - at most [`IN_FLIGHT`] deliveries wait for their acknowledgements at once (the prefetch
//!   is the same number, so the broker sends no more); how many do is the gauge
//!   `orderflow_hub_pushes_in_flight`. Sizing: at 500 pushes/s over 1,000
//!   users of whom 10 are frozen, 1 % of the pushes (5/s) go to a frozen connection and each
//!   holds its delivery for the 5 s acknowledgement timeout: 5/s × 5 s = 25 deliveries; the
//!   other 495/s are answered within a round trip (say 20 ms): about 10 more. 35 of 256 leaves
//!   room for seven times as many frozen users, and fewer are held in practice: a connection
//!   that never answered stops being awaited after two timeouts (see `handle`), and a frozen
//!   one is closed at the client timeout (30 s) or when its outgoing buffer is full;
//! - with an inbox ([`PushHub::with_inbox`]), the deliveries already here are taken together
//!   and recorded in it for each subscriber in one write, *before* anything is pushed or
//!   acknowledged; the broker is acknowledged right after, then the pushes go out, and a push a
//!   connection of its user acknowledged is marked so in the inbox. A crash between the write
//!   and the broker's acknowledgement only repeats the write (idempotent by user and message
//!   id: every instance writes the same one row per user); an admin's connection, which gets
//!   every push live (see `hub`), acknowledges nothing in the inbox for a subscriber; the
//!   inbox's upkeep (pruning, depth) runs beside;
//! - a repeated message id within the window is acknowledged without pushing again; a message
//!   that does not decode is rejected to the dead-letter queue;
//! - each delivery is relayed in a span that continues the trace its message carries; the push
//!   to each connection is a child span whose `traceparent` rides in the invocation's headers;
//! - when the shutdown future resolves, no new delivery is taken, and the ones in flight are
//!   finished (acknowledged) before the relay's task ends.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use orderflow_app::messaging::Deduplicator;
use orderflow_app::ports::InboxPush;
use orderflow_app::ports::bus::{Delivery, MessageSubscriber, QueueSubscription, SubscriptionSpec};
use orderflow_app::push::{PUSH_UPDATE_ROUTING_PREFIX, PushUpdateIntegrationMessage};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};
use tracing::Instrument;

use uuid::Uuid;

use crate::{PendingPush, PushHub, PushReport};

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
    let upkeep = hub.inbox().cloned().map(crate::inbox::spawn_upkeep);
    let pushes_in_flight = metrics::gauge!("orderflow_hub_pushes_in_flight");
    loop {
        pushes_in_flight.set(in_flight.len() as f64);
        tokio::select! {
            biased;
            () = &mut *shutdown => break,
            Some(finished) = in_flight.join_next(), if !in_flight.is_empty() => {
                if let Err(error) = finished {
                    tracing::warn!(%error, "a relayed push's task failed");
                }
            }
            delivery = subscription.next(), if in_flight.len() < usize::from(IN_FLIGHT) => {
                let Some(first) = delivery else { break };
                // Everything already here, in the broker's order, recorded in one write.
                let mut batch = vec![decode(first, &mut seen)];
                while in_flight.len() + batch.len() < usize::from(IN_FLIGHT) {
                    let Some(next) = subscription.try_next() else { break };
                    batch.push(decode(next, &mut seen));
                }
                if let Some(inbox) = hub.inbox() {
                    let pushes: Vec<InboxPush> = batch.iter().filter_map(Decoded::inbox_push).collect();
                    if !pushes.is_empty()
                        && !crate::inbox::record_durably(&**inbox, &pushes, shutdown).await
                    {
                        // Not acknowledged: the broker redelivers them.
                        break;
                    }
                }
                for decoded in batch {
                    in_flight.spawn(start(hub, decoded, ack_timeout));
                }
            }
        }
    }
    while in_flight.join_next().await.is_some() {}
    pushes_in_flight.set(0.0);
    if let Some(upkeep) = upkeep {
        upkeep.abort();
    }
}

/// A delivery and what it carries.
enum Decoded {
    /// Not a push update: dead-lettered.
    Undecodable(Delivery),
    /// Seen within the de-duplication window: acknowledged without pushing.
    Repeat(Delivery),
    Push(Delivery, PushUpdateIntegrationMessage),
}

impl Decoded {
    fn inbox_push(&self) -> Option<InboxPush> {
        let Decoded::Push(_, message) = self else {
            return None;
        };
        Some(InboxPush {
            message_id: message.message_id,
            user_ids: message.subscriber_ids.clone(),
            argument: message.push_update_argument().to_string(),
        })
    }
}

fn decode(delivery: Delivery, seen: &mut Deduplicator) -> Decoded {
    match delivery.message.decode::<PushUpdateIntegrationMessage>() {
        Err(error) => {
            tracing::warn!(%error, message_id = %delivery.message.id, "undecodable push update, dead-lettering");
            Decoded::Undecodable(delivery)
        }
        Ok(message) if seen.is_duplicate(message.message_id) => {
            tracing::debug!(message_id = %message.message_id, "repeated push update skipped");
            Decoded::Repeat(delivery)
        }
        Ok(message) => {
            seen.record(message.message_id);
            Decoded::Push(delivery, message)
        }
    }
}

/// Queues the push on every connection now; the returned future settles the delivery with
/// the broker — at once when the inbox holds the push, else once the connections answered —
/// and marks the push acknowledged in the inbox for the users who answered.
fn start(
    hub: &PushHub,
    decoded: Decoded,
    ack_timeout: Duration,
) -> impl Future<Output = ()> + Send + 'static {
    let inbox = hub.inbox().cloned();
    let span = relay_span(&decoded);
    let started = match decoded {
        Decoded::Undecodable(delivery) => Err(delivery),
        Decoded::Repeat(delivery) => Ok((delivery, None)),
        Decoded::Push(delivery, message) => {
            // The pushes to the connections are children of the delivery's span.
            let pending = span.in_scope(|| {
                hub.start_push(
                    &message.subscriber_ids,
                    message.push_update_argument(),
                    ack_timeout,
                )
            });
            Ok((
                delivery,
                Some((message.message_id, message.subscriber_ids, pending)),
            ))
        }
    };
    let settling = async move {
        let settled = match started {
            Err(delivery) => delivery.reject().await,
            Ok((delivery, None)) => delivery.ack().await,
            Ok((delivery, Some((message_id, subscribers, pending)))) => match inbox {
                Some(inbox) => {
                    // Durable in the inbox already: the broker need not wait for the clients.
                    let settled = delivery.ack().await;
                    let report = finish(message_id, pending).await;
                    crate::inbox::acknowledge_delivered(&*inbox, message_id, &subscribers, &report)
                        .await;
                    settled
                }
                None => {
                    finish(message_id, pending).await;
                    delivery.ack().await
                }
            },
        };
        if let Err(error) = settled {
            // The broker will redeliver; the de-duplicator (and the inbox) drop the repeat.
            tracing::warn!(%error, "cannot settle a push update");
        }
    };
    settling.instrument(span)
}

/// The span of relaying one delivery: a child of the trace its message carries (the push
/// publisher's or the notifier's span), open until the delivery is settled.
fn relay_span(decoded: &Decoded) -> tracing::Span {
    let delivery = match decoded {
        Decoded::Undecodable(delivery) | Decoded::Repeat(delivery) | Decoded::Push(delivery, _) => {
            delivery
        }
    };
    let span = tracing::info_span!(
        "relay push update",
        otel.name = "push-hub relay",
        otel.kind = "consumer",
        message_id = %delivery.message.id,
    );
    delivery.message.trace_context().continue_in(&span);
    span
}

/// Awaits the push's acknowledgements.
async fn finish(message_id: Uuid, pending: PendingPush) -> PushReport {
    let report = pending.finish().await;
    tracing::debug!(
        %message_id,
        delivered = report.delivered.len(),
        timed_out = report.timed_out.len(),
        unacknowledged = report.unacknowledged.len(),
        "push update relayed"
    );
    report
}

#[cfg(test)]
#[path = "relay_tests.rs"]
mod tests;
