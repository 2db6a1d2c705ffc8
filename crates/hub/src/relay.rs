//! The relay from the broker to connected users: consumes `PushUpdateIntegrationMessage`s
//! through this hub instance's own queue (bound to `push-update.#`, so every instance sees
//! every update and users connected anywhere are reached). The queue is durable, not
//! exclusive, so updates published while the broker restarts and the relay reconnects wait
//! in it instead of being dropped as unroutable; the broker deletes it ten minutes after this
//! instance is gone.
//!
//! The relay is a two-step handler ([`StagedHandler`]) run by the one consumer runner of
//! `orderflow_app::messaging` ([`run_staged_consumer`]), which subscribes, takes the
//! deliveries, de-duplicates, settles, counts and drains; it has no loop of its own.
//!
//! Guarantees:
//! - the first subscription is retried with backoff until it succeeds or the shutdown future
//!   resolves; [`PushRelay::subscribed`] turns true once it is in place (the hub's readiness);
//! - deliveries are started in the broker's order and each is queued on its users'
//!   connections at once ([`PushHub::start_push`], in the runner's ordered start), so every
//!   connection gets its pushes in order; the acknowledgements are then awaited concurrently,
//!   one task per delivery, and (without an inbox) the broker is acknowledged once every
//!   connection of that delivery has answered or timed out — without holding up the next
//!   delivery. No connection, user or message delays another user's push;
//! - at most [`IN_FLIGHT`] deliveries are in flight at once (the prefetch, which the runner
//!   also takes as its bound); how many pushes wait for their acknowledgements is the gauge
//!   `orderflow_hub_pushes_in_flight`. Sizing: at 500 pushes/s over 1,000
//!   users of whom 10 are frozen, 1 % of the pushes (5/s) go to a frozen connection and each
//!   holds its delivery for the 5 s acknowledgement timeout: 5/s × 5 s = 25 deliveries; the
//!   other 495/s are answered within a round trip (say 20 ms): about 10 more. 35 of 256 leaves
//!   room for seven times as many frozen users, and fewer are held in practice: a connection
//!   that never answered stops being awaited after two timeouts (see `handle`), and a frozen
//!   one is closed at the client timeout (30 s) or when its outgoing buffer is full;
//! - with an inbox ([`PushHub::with_inbox`]), each batch of deliveries is handed to the
//!   inbox's recorder (`inbox_recording`: one ordered writer, whose one write takes every batch
//!   handed over meanwhile) and queued on the connections at once, so no push waits for the
//!   disk. A delivery's finish waits until its push is durable in the inbox, and only then
//!   acknowledges the broker; the clients' acknowledgements are awaited afterwards, and a push
//!   a connection of its user acknowledged is marked so in the inbox — always after it was
//!   recorded, since the mark is made after the broker's acknowledgement, so a client's early
//!   answer is never undone by the record. A crash before the record is durable leaves the
//!   delivery unacknowledged: the broker redelivers it and it is pushed again with the same
//!   `messageId`; a crash between the record and the broker's acknowledgement only repeats the
//!   write (idempotent by user and message id: every instance writes the same one row per
//!   user). An admin's connection, which gets every push live (see `hub`), acknowledges
//!   nothing in the inbox for a subscriber; the inbox's upkeep (pruning, depth) runs beside;
//! - a repeated message id within the window (or one still in flight) is acknowledged without
//!   pushing again; a message that does not decode is rejected to the dead-letter queue;
//! - each delivery is relayed in a span (`push-hub relay`) that continues the trace its
//!   message carries; the push to each connection is a child span whose `traceparent` rides
//!   in the invocation's headers;
//! - when the shutdown future resolves, no new delivery is taken (an inbox write still being
//!   retried is given up, its deliveries handed back to the queue: the broker redelivers
//!   them), and the ones in flight are finished (acknowledged) before the relay's task ends.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use orderflow_app::messaging::{Finished, Handled, Received, StagedHandler, run_staged_consumer};
use orderflow_app::ports::InboxPush;
use orderflow_app::ports::bus::{Delivery, MessageSubscriber, SubscriptionSpec};
use orderflow_app::push::{PUSH_UPDATE_ROUTING_PREFIX, PushUpdateIntegrationMessage};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use uuid::Uuid;

use crate::inbox_recording::{InboxRecorder, RecordTicket};
use crate::{PendingPush, PushHub, PushReport};

/// How long this instance's queue outlives its last consumer.
const QUEUE_EXPIRY: Duration = Duration::from_secs(600);
/// Deliveries in flight at once, and the broker's prefetch.
pub const IN_FLIGHT: u16 = 256;

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
    let binding = format!("{PUSH_UPDATE_ROUTING_PREFIX}#");
    let spec = SubscriptionSpec::per_instance("push-hub", &[binding.as_str()], QUEUE_EXPIRY)
        .with_prefetch(IN_FLIGHT);
    let task = tokio::spawn(async move {
        // Shutdown also stops the recorder, so a write being retried is given up.
        let (stopping, stop) = watch::channel(false);
        let shutdown = async move {
            shutdown.await;
            stopping.send_replace(true);
        };
        let upkeep = hub.inbox().cloned().map(crate::inbox::spawn_upkeep);
        let recorder = hub
            .inbox()
            .cloned()
            .map(|inbox| InboxRecorder::spawn(inbox, hub.inner.recording.clone(), stop.clone()));
        let (recorder, recording) = recorder.unzip();
        let relay = Relay {
            hub,
            ack_timeout,
            recorder,
            pushes_in_flight: metrics::gauge!("orderflow_hub_pushes_in_flight"),
        };
        run_staged_consumer(bus, spec, relay, shutdown, subscribed_tx).await;
        if let Some(upkeep) = upkeep {
            upkeep.abort();
        }
        if let Some(recording) = recording {
            // Ends once the relay (and so the recorder's sender) is gone.
            let _ = recording.await;
        }
        tracing::info!("push relay stopped");
    });
    PushRelay { subscribed, task }
}

/// The relay's handler: starts pushes in delivery order, awaits them concurrently.
struct Relay {
    hub: PushHub,
    ack_timeout: Duration,
    /// Records the pushes in the hub's inbox, if it has one.
    recorder: Option<InboxRecorder>,
    pushes_in_flight: metrics::Gauge,
}

/// A delivery once started.
enum Relaying {
    /// Not a push update: dead-lettered.
    Undecodable(String),
    Pushed(Box<Pushed>),
}

/// A push queued on its connections, its acknowledgements not yet awaited.
struct Pushed {
    message_id: Uuid,
    subscribers: Vec<String>,
    pending: PendingPush,
    /// Resolves once the push is durable in the inbox (with an inbox).
    recorded: Option<RecordTicket>,
    _counted: Counted,
}

#[async_trait]
impl StagedHandler for Relay {
    type Started = Relaying;

    fn span(&self, _queue: &str, delivery: &Delivery) -> tracing::Span {
        tracing::info_span!(
            "relay push update",
            otel.name = "push-hub relay",
            otel.kind = "consumer",
            message_id = %delivery.message.id,
        )
    }

    /// Hands the batch's pushes to the inbox's recorder (if any), then queues each on its
    /// connections, in order, without waiting for the record.
    async fn start(&self, batch: &[Received]) -> Vec<Relaying> {
        let decoded: Vec<Result<Decoded, String>> = batch
            .iter()
            .map(|received| {
                (received.delivery.message)
                    .decode::<PushUpdateIntegrationMessage>()
                    .map(Decoded::new)
                    .map_err(|error| error.to_string())
            })
            .collect();
        // Handed over before the pushes are queued: a connection that opens after a push was
        // queued finds it recorded, or being recorded, when it replays (`inbox`).
        let recorded = self.recorder.as_ref().and_then(|recorder| {
            let pushes: Vec<InboxPush> =
                decoded.iter().flatten().map(Decoded::inbox_push).collect();
            (!pushes.is_empty()).then(|| recorder.hand_over(pushes))
        });
        batch
            .iter()
            .zip(decoded)
            .map(|(received, decoded)| match decoded {
                Err(reason) => Relaying::Undecodable(reason),
                // The pushes to the connections are children of the delivery's span.
                Ok(decoded) => Relaying::Pushed(Box::new(
                    received
                        .span
                        .in_scope(|| self.push(decoded, recorded.clone())),
                )),
            })
            .collect()
    }

    /// With an inbox, the broker is acknowledged once the push is durable in it (not waiting
    /// for the clients), and the acknowledgements are awaited afterwards; without, they are
    /// awaited first.
    async fn finish(&self, started: Relaying, _delivery: &Delivery) -> Finished {
        let pushed = match started {
            Relaying::Undecodable(reason) => return Handled::Poison(reason).into(),
            Relaying::Pushed(pushed) => *pushed,
        };
        let (Some(inbox), Some(recorded)) = (self.hub.inbox().cloned(), pushed.recorded) else {
            finish(pushed.message_id, pushed.pending).await;
            return Handled::Done.into();
        };
        if let Err(given_up) = recorded.durable().await {
            return Handled::Retry(given_up.to_string()).into();
        }
        Finished::then(Handled::Done, async move {
            let report = finish(pushed.message_id, pushed.pending).await;
            crate::inbox::acknowledge_delivered(
                &*inbox,
                pushed.message_id,
                &pushed.subscribers,
                &report,
            )
            .await;
        })
    }
}

impl Relay {
    /// Queues the update on every connection of its subscribers (and of every admin) now.
    fn push(&self, decoded: Decoded, recorded: Option<RecordTicket>) -> Pushed {
        let Decoded { message, argument } = decoded;
        let pending =
            self.hub
                .start_push_text(&message.subscriber_ids, &argument, self.ack_timeout);
        Pushed {
            message_id: message.message_id,
            subscribers: message.subscriber_ids,
            pending,
            recorded,
            _counted: Counted::new(&self.pushes_in_flight),
        }
    }
}

/// A push update and its `PushUpdate` argument as JSON text, written once for the inbox and
/// the connections.
struct Decoded {
    message: PushUpdateIntegrationMessage,
    argument: String,
}

impl Decoded {
    fn new(message: PushUpdateIntegrationMessage) -> Self {
        let argument = message.push_update_argument().to_string();
        Self { message, argument }
    }

    fn inbox_push(&self) -> InboxPush {
        InboxPush {
            message_id: self.message.message_id,
            user_ids: self.message.subscriber_ids.clone(),
            argument: self.argument.clone(),
        }
    }
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

/// One push counted in `orderflow_hub_pushes_in_flight` while it lives.
struct Counted(metrics::Gauge);

impl Counted {
    fn new(gauge: &metrics::Gauge) -> Self {
        gauge.increment(1.0);
        Counted(gauge.clone())
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.decrement(1.0);
    }
}

#[cfg(test)]
#[path = "relay_tests.rs"]
mod tests;
