//! Running a message consumer in one step: hand each delivery to a [`MessageHandler`]
//! concurrently (up to the subscription's prefetch), and settle it by the handler's verdict.
//!
//! A one-step handler is a [`StagedHandler`] whose start does nothing, so [`run_consumer`] is
//! the one runner ([`run_staged_consumer`], whose header lists the guarantees): the first
//! subscription retried with backoff, a delivery acknowledged only after its handler returned
//! [`Handled::Done`], requeued on [`Handled::Retry`] after a short pause, dead-lettered on
//! [`Handled::Poison`], a repeated message id acknowledged without calling the handler (a
//! request is always handled), `orderflow_bus_deliveries_total{queue, outcome}`, a span per
//! delivery continuing its message's trace, and on shutdown no new delivery taken and the ones
//! in flight finished.

use std::future::Future;
use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::watch;

use super::{Finished, Handled, Received, StagedHandler, run_staged_consumer};
use crate::ports::bus::{Delivery, MessageSubscriber, SubscriptionSpec};

/// Handles one delivery. Called concurrently for different deliveries.
#[async_trait]
pub trait MessageHandler: Send + Sync + 'static {
    async fn handle(&self, delivery: &Delivery) -> Handled;
}

#[async_trait]
impl<H: MessageHandler> StagedHandler for H {
    type Started = ();

    async fn start(&self, batch: &[Received]) -> Vec<()> {
        vec![(); batch.len()]
    }

    async fn finish(&self, _started: (), delivery: &Delivery) -> Finished {
        self.handle(delivery).await.into()
    }
}

/// Consumes `spec` with `handler` until `shutdown` resolves.
pub async fn run_consumer<H: MessageHandler>(
    bus: Arc<dyn MessageSubscriber>,
    spec: SubscriptionSpec,
    handler: H,
    shutdown: impl Future<Output = ()>,
) {
    let (subscribed, _) = watch::channel(false);
    run_staged_consumer(bus, spec, handler, shutdown, subscribed).await;
}
