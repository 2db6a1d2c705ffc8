//! The one consumer runner: subscribe (retrying until the broker answers), take the
//! deliveries in the broker's order, start each batch of them with a [`StagedHandler`], finish
//! each concurrently, and settle it by the handler's verdict.
//!
//! Guarantees:
//! - the first subscription is retried with backoff (100 ms doubling to 5 s) until it
//!   succeeds or the shutdown future resolves; `subscribed` turns true once it is in place
//!   and false when the runner stops;
//! - deliveries are started in the broker's order, one batch at a time: a batch is the
//!   deliveries already received, and the next batch is taken only once this one is started;
//! - at most the subscription's prefetch of deliveries are in flight (started and not yet
//!   through their finish, settlement and [`Finished::afterwards`]); no more is taken meanwhile;
//! - a delivery is acknowledged only once its finish returned [`Handled::Done`];
//!   [`Handled::Retry`] hands it back to the queue after a short pause (it is dead-lettered
//!   once it exceeds the delivery limit); [`Handled::Poison`] dead-letters it at once;
//! - a message id handled within the de-duplication window, or being handled, is acknowledged
//!   without calling the handler again (best effort; handlers stay idempotent) — except a
//!   request, which is always handled, since someone waits for its answer;
//! - every settled delivery is counted in `orderflow_bus_deliveries_total{queue, outcome}`
//!   (`handled`, `duplicate`, `requeued`, `dead_lettered`);
//! - each delivery is started, finished and settled in its span ([`StagedHandler::span`]),
//!   which continues the trace its message carries (`traceparent`);
//! - when the shutdown future resolves, no new delivery is taken, a start still awaiting is
//!   dropped (its deliveries stay unsettled and come again), and the deliveries in flight are
//!   finished before the runner returns.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinSet;
use tracing::Instrument;

use super::seen::{Claim, SeenIds};
use super::{Finished, Handled, Received, StagedHandler};
use crate::ports::bus::{Delivery, MessageSubscriber, QueueSubscription, SubscriptionSpec};

/// Message ids remembered per consumer for de-duplication.
const DEDUP_CAPACITY: usize = 100_000;
/// How long a handled message id is remembered.
const DEDUP_WINDOW: Duration = Duration::from_secs(600);
/// Pause before a failed delivery is handed back, so a failing dependency is
/// not hammered.
const RETRY_PAUSE: Duration = Duration::from_millis(250);
/// The first pause between failed subscription attempts, doubled up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Consumes `spec` with `handler` until `shutdown` resolves (or the bus closes); `subscribed`
/// tells whether the subscription is in place.
pub async fn run_staged_consumer<H: StagedHandler>(
    bus: Arc<dyn MessageSubscriber>,
    spec: SubscriptionSpec,
    handler: H,
    shutdown: impl Future<Output = ()>,
    subscribed: watch::Sender<bool>,
) {
    tokio::pin!(shutdown);
    let queue: Arc<str> = spec.metric_label.as_str().into();
    let bound = usize::from(spec.prefetch.max(1));
    let Some(mut subscription) = subscribe(&*bus, spec, &mut shutdown).await else {
        return;
    };
    subscribed.send_replace(true);
    let handler = Arc::new(handler);
    let seen = SeenIds::new(DEDUP_CAPACITY, DEDUP_WINDOW);
    let mut in_flight = JoinSet::new();
    loop {
        let first = tokio::select! {
            biased;
            () = &mut shutdown => break,
            Some(finished) = in_flight.join_next(), if !in_flight.is_empty() => {
                if let Err(error) = finished {
                    tracing::error!(%queue, %error, "a message handler panicked");
                }
                continue;
            }
            delivery = subscription.next(), if in_flight.len() < bound => match delivery {
                Some(delivery) => delivery,
                None => break,
            },
        };
        // Everything already here, in the broker's order, within the bound.
        let mut batch = Vec::new();
        let mut claims = Vec::new();
        let mut next = Some(first);
        while let Some(delivery) = next.take() {
            // The handler's span, continuing the message's trace; for a trace that was not
            // sampled, an untraced one that hands its context on.
            let span = delivery.message.trace_context().hop_span(
                || handler.span(&queue, &delivery),
                || {
                    tracing::info_span!(
                        "handle message",
                        hop = %format_args!("{queue} {}", delivery.message.kind),
                        message_id = %delivery.message.id,
                    )
                },
            );
            match seen.claim(&delivery) {
                Some(claim) => {
                    batch.push(Received { delivery, span });
                    claims.push(claim);
                }
                None => {
                    let settling =
                        settle(delivery, Handled::Done, true, seen.clone(), queue.clone());
                    in_flight.spawn(settling.instrument(span));
                }
            }
            if in_flight.len() + batch.len() < bound {
                next = subscription.try_next();
            }
        }
        if batch.is_empty() {
            continue;
        }
        let started = tokio::select! {
            biased;
            () = &mut shutdown => break,
            started = handler.start(&batch) => started,
        };
        debug_assert_eq!(started.len(), batch.len(), "one started per delivery");
        let mut started = started.into_iter();
        for (Received { delivery, span }, claim) in batch.into_iter().zip(claims) {
            let finishing = finish(
                handler.clone(),
                started.next(),
                delivery,
                claim,
                seen.clone(),
                queue.clone(),
            );
            in_flight.spawn(finishing.instrument(span));
        }
    }
    while in_flight.join_next().await.is_some() {}
    subscribed.send_replace(false);
}

/// Subscribes, retrying with backoff; `None` when shutdown came first.
async fn subscribe(
    bus: &dyn MessageSubscriber,
    spec: SubscriptionSpec,
    shutdown: &mut (impl Future<Output = ()> + Unpin),
) -> Option<QueueSubscription> {
    let mut backoff = FIRST_BACKOFF;
    loop {
        tokio::select! {
            () = &mut *shutdown => return None,
            subscribed = bus.subscribe(spec.clone()) => match subscribed {
                Ok(subscription) => return Some(subscription),
                Err(error) => {
                    tracing::warn!(queue = %spec.queue, %error, ?backoff, "cannot subscribe; retrying");
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

/// Finishes a started delivery, settles it, then does what is left.
async fn finish<H: StagedHandler>(
    handler: Arc<H>,
    started: Option<H::Started>,
    delivery: Delivery,
    claim: Claim,
    seen: SeenIds,
    queue: Arc<str>,
) {
    let Finished {
        verdict,
        afterwards,
    } = match started {
        Some(started) => handler.finish(started, &delivery).await,
        None => Handled::Retry("the handler did not start it".into()).into(),
    };
    settle(delivery, verdict, false, seen, queue).await;
    drop(claim);
    if let Some(afterwards) = afterwards {
        afterwards.await;
    }
}

/// Settles `delivery` by `verdict` (`duplicate`: a repeat, acknowledged unhandled).
async fn settle(
    delivery: Delivery,
    verdict: Handled,
    duplicate: bool,
    seen: SeenIds,
    queue: Arc<str>,
) {
    let id = delivery.message.id;
    let outcome = match (&verdict, duplicate) {
        (Handled::Done, true) => "duplicate",
        (Handled::Done, false) => "handled",
        (Handled::Retry(_), _) => "requeued",
        (Handled::Poison(_), _) => "dead_lettered",
    };
    metrics::counter!("orderflow_bus_deliveries_total", "queue" => queue.to_string(), "outcome" => outcome)
        .increment(1);
    let settled = match verdict {
        Handled::Done => {
            seen.record(id);
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
