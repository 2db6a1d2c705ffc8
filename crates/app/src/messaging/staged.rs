//! What a consumer's handler is to the runner ([`run_staged_consumer`](super::run_staged_consumer)):
//! handling in two steps, an ordered start and a concurrent finish.
//!
//! - [`StagedHandler::start`] is called one batch at a time, in the broker's order: a batch is
//!   the deliveries already received when the runner took the first of them. What it does
//!   synchronously for each delivery happens in delivery order (the hub queues each push on
//!   its users' connections there, so every connection gets its pushes in order), and what it
//!   awaits holds up the next batch (the hub awaits nothing there: its inbox write runs beside,
//!   and each finish waits for it).
//! - [`StagedHandler::finish`] is then run for each delivery concurrently with the others, and
//!   its [`Finished::verdict`] settles the delivery; its [`Finished::afterwards`] is done after
//!   the settlement, still counted among the deliveries in flight.
//!
//! A handler in one step ([`MessageHandler`](super::MessageHandler)) is a staged one whose
//! start does nothing.

use std::future::Future;
use std::pin::Pin;

use async_trait::async_trait;

use crate::ports::bus::Delivery;

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

/// A delivery handed to [`StagedHandler::start`], with the span it is handled in (enter it
/// for the delivery's own part of the start).
#[derive(Debug)]
pub struct Received {
    pub delivery: Delivery,
    pub span: tracing::Span,
}

/// Work left once a delivery is settled.
pub type Afterwards = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// What [`StagedHandler::finish`] came to.
pub struct Finished {
    /// How the delivery is settled.
    pub verdict: Handled,
    /// Done after the settlement (e.g. waiting for clients once the broker is acknowledged).
    pub afterwards: Option<Afterwards>,
}

impl Finished {
    /// Settle by `verdict`, then do `work`.
    pub fn then(verdict: Handled, work: impl Future<Output = ()> + Send + 'static) -> Self {
        Finished {
            verdict,
            afterwards: Some(Box::pin(work)),
        }
    }
}

impl From<Handled> for Finished {
    fn from(verdict: Handled) -> Self {
        Finished {
            verdict,
            afterwards: None,
        }
    }
}

impl std::fmt::Debug for Finished {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Finished")
            .field("verdict", &self.verdict)
            .field("afterwards", &self.afterwards.is_some())
            .finish()
    }
}

/// Handles deliveries in two steps: an ordered [`start`](StagedHandler::start) per batch and a
/// concurrent [`finish`](StagedHandler::finish) per delivery.
#[async_trait]
pub trait StagedHandler: Send + Sync + 'static {
    /// What starting one delivery leaves for its finish.
    type Started: Send + 'static;

    /// The span a delivery is handled in (the runner makes it continue the trace its message
    /// carries): by default `handle message`, named `{queue} {kind}` for OpenTelemetry.
    fn span(&self, queue: &str, delivery: &Delivery) -> tracing::Span {
        let message = &delivery.message;
        tracing::info_span!(
            "handle message",
            otel.name = %format_args!("{queue} {}", message.kind),
            otel.kind = "consumer",
            message_id = %message.id,
        )
    }

    /// Starts `batch` (at least one delivery, in the broker's order, none a repeat of a
    /// message handled within the de-duplication window or being handled); returns one
    /// `Started` per delivery, in the same order. Never called concurrently with itself.
    /// When shutdown comes while it awaits, it is dropped there, and its deliveries are left
    /// unsettled: the broker delivers them again.
    async fn start(&self, batch: &[Received]) -> Vec<Self::Started>;

    /// Finishes one started delivery, in its span, concurrently with the others.
    async fn finish(&self, started: Self::Started, delivery: &Delivery) -> Finished;
}
