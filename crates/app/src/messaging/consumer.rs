//! Running a message consumer: subscribe (retrying until the broker
//! answers), hand each delivery to a [`MessageHandler`] concurrently (up to
//! the subscription's prefetch), and settle it by the handler's verdict.
//!
//! Guarantees: a delivery is acknowledged only after its handler returned
//! [`Handled::Done`]; [`Handled::Retry`] hands it back to the queue after a
//! short pause (it is dead-lettered once it exceeds the delivery limit);
//! [`Handled::Poison`] dead-letters it at once. A message id already handled
//! within the de-duplication window is acknowledged without calling the
//! handler again (best effort; handlers stay idempotent) — except a request,
//! which is always handled, since someone waits for its answer. On shutdown no new
//! delivery is taken and the ones in flight are finished. Every settled delivery is
//! counted in `orderflow_bus_deliveries_total{queue, outcome}` (`handled`, `duplicate`,
//! `requeued`, `dead_lettered`). Each delivery is handled in a span that continues the trace
//! its message carries (`traceparent`), so what the handler does joins the sender's trace.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use tokio::task::JoinSet;
use tracing::Instrument;

use super::Deduplicator;
use crate::ports::bus::{Delivery, MessageSubscriber, SubscriptionSpec};

/// Message ids remembered per consumer for de-duplication.
const DEDUP_CAPACITY: usize = 100_000;
/// How long a handled message id is remembered.
const DEDUP_WINDOW: Duration = Duration::from_secs(600);
/// Pause before a failed delivery is handed back, so a failing dependency is
/// not hammered.
const RETRY_PAUSE: Duration = Duration::from_millis(250);

/// What became of a delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handled {
    /// Handled: acknowledge it.
    Done,
    /// Failed for a reason that may pass (a database outage): requeue it.
    Retry(String),
    /// Can never be handled (a body that does not decode): dead-letter it.
    Poison(String),
}

/// Handles one delivery. Called concurrently for different deliveries.
#[async_trait]
pub trait MessageHandler: Send + Sync + 'static {
    async fn handle(&self, delivery: &Delivery) -> Handled;
}

/// Consumes `spec` with `handler` until `shutdown` resolves.
pub async fn run_consumer<H: MessageHandler>(
    bus: Arc<dyn MessageSubscriber>,
    spec: SubscriptionSpec,
    handler: H,
    shutdown: impl Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    let queue = spec.queue.clone();
    let mut backoff = Duration::from_millis(100);
    let mut subscription = loop {
        tokio::select! {
            () = &mut shutdown => return,
            subscribed = bus.subscribe(spec.clone()) => match subscribed {
                Ok(subscription) => break subscription,
                Err(error) => {
                    tracing::warn!(%queue, %error, ?backoff, "cannot subscribe; retrying");
                    tokio::select! {
                        () = &mut shutdown => return,
                        () = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
            },
        }
    };
    let handler = Arc::new(handler);
    let seen = Arc::new(Mutex::new(Deduplicator::new(DEDUP_CAPACITY, DEDUP_WINDOW)));
    let mut in_flight = JoinSet::new();
    loop {
        let delivery = tokio::select! {
            () = &mut shutdown => break,
            Some(finished) = in_flight.join_next(), if !in_flight.is_empty() => {
                if let Err(error) = finished {
                    tracing::error!(%queue, %error, "a message handler panicked");
                }
                continue;
            }
            delivery = subscription.next() => match delivery {
                Some(delivery) => delivery,
                None => break,
            },
        };
        let handler = handler.clone();
        let seen = seen.clone();
        let queue = queue.clone();
        let span = delivery_span(&queue, &delivery);
        in_flight.spawn(
            async move { settle(&*handler, delivery, &seen, &queue).await }.instrument(span),
        );
    }
    while in_flight.join_next().await.is_some() {}
}

/// The span of handling one delivery: a child of the trace the message carries.
fn delivery_span(queue: &str, delivery: &Delivery) -> tracing::Span {
    let message = &delivery.message;
    let span = tracing::info_span!(
        "handle message",
        otel.name = %format_args!("{queue} {}", message.kind),
        otel.kind = "consumer",
        queue,
        message_kind = %message.kind,
        message_id = %message.id,
    );
    message.trace_context().continue_in(&span);
    span
}

async fn settle<H: MessageHandler>(
    handler: &H,
    delivery: Delivery,
    seen: &Mutex<Deduplicator>,
    queue: &str,
) {
    let id = delivery.message.id;
    // A request is always handled: someone waits for its answer, and the
    // handler answers a repeat with the first outcome.
    let duplicate =
        !delivery.is_request() && seen.lock().is_ok_and(|mut seen| seen.is_duplicate(id));
    let verdict = if duplicate {
        Handled::Done
    } else {
        handler.handle(&delivery).await
    };
    let outcome = match (&verdict, duplicate) {
        (Handled::Done, true) => "duplicate",
        (Handled::Done, false) => "handled",
        (Handled::Retry(_), _) => "requeued",
        (Handled::Poison(_), _) => "dead_lettered",
    };
    metrics::counter!("orderflow_bus_deliveries_total", "queue" => queue.to_owned(), "outcome" => outcome)
        .increment(1);
    let settled = match verdict {
        Handled::Done => {
            if let Ok(mut seen) = seen.lock() {
                seen.record(id);
            }
            delivery.ack().await
        }
        Handled::Retry(reason) => {
            tracing::warn!(%queue, message_id = %id, %reason, "handling failed; requeued");
            tokio::time::sleep(RETRY_PAUSE).await;
            delivery.nack(true).await
        }
        Handled::Poison(reason) => {
            tracing::error!(%queue, message_id = %id, %reason, "unprocessable message dead-lettered");
            delivery.reject().await
        }
    };
    if let Err(error) = settled {
        // The broker redelivers it; handlers are idempotent.
        tracing::warn!(%queue, message_id = %id, %error, "cannot settle a delivery");
    }
}
