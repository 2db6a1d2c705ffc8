//! Rebuilding the search index from the event store while the service keeps
//! answering.
//!
//! The live projection writes through a [`SwappableIndex`] and runs each
//! batch inside a [`BatchGate`] ([`Gated`]). [`rebuild_into`] fills a fresh,
//! empty index from the first event up to the head (the old index keeps
//! serving searches and the live projection keeps updating it), then takes
//! the gate — the live projection pauses between two batches — catches the
//! fresh index up to the old one's checkpoint, and swaps it in. The live
//! projection then continues on the fresh index from where it was; anything
//! the fresh index already holds is re-applied harmlessly (documents are
//! idempotent by revision). Searches never see a half-built index.

mod swappable;

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::orders::search::{RebuildControl, RebuildStatus};
use crate::ports::{EventStore, FreshIndexes, Position, RebuildError, RecordedEvent, SearchIndex};
use crate::subscription::{EventHandler, HandlerError, SubscriptionConfig};
use async_trait::async_trait;

pub use swappable::{BatchGate, SwappableIndex};

use super::{SEARCH_BATCH_SIZE, SEARCH_PROJECTION, subscribe};

/// A live projection's handler that runs each batch inside the gate.
#[derive(Debug)]
pub struct Gated<H> {
    inner: H,
    gate: BatchGate,
}

impl<H> Gated<H> {
    pub fn new(inner: H, gate: BatchGate) -> Self {
        Gated { inner, gate }
    }
}

#[async_trait]
impl<H: EventHandler> EventHandler for Gated<H> {
    async fn handle(&mut self, events: &[RecordedEvent]) -> Result<(), HandlerError> {
        let _batch = self.gate.lock().await;
        self.inner.handle(events).await
    }
}

/// What a rebuild did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RebuildReport {
    /// The fresh index's checkpoint when it was swapped in.
    pub position: Position,
    /// How long the whole rebuild took, the live projection's pause included.
    pub elapsed: Duration,
    /// How long the live projection was paused for the final catch-up.
    pub paused: Duration,
}

/// Fills `fresh` (empty) from the event store and swaps it into `live`.
/// Returns the index it replaced.
pub async fn rebuild_into(
    store: Arc<dyn EventStore>,
    live: &SwappableIndex,
    gate: &BatchGate,
    fresh: Arc<dyn SearchIndex>,
) -> Result<(RebuildReport, Arc<dyn SearchIndex>), RebuildError> {
    let started = Instant::now();
    let head = store.head().await.map_err(RebuildError::of)?;
    catch_up(store.clone(), fresh.clone(), head).await?;
    let paused = gate.lock().await;
    let pause_started = Instant::now();
    let live_at = live
        .current()
        .checkpoint(SEARCH_PROJECTION)
        .await
        .map_err(RebuildError::of)?;
    let (position, replaced) = swap_in(store, live, &paused, fresh, live_at).await?;
    Ok((
        RebuildReport {
            position,
            elapsed: started.elapsed(),
            paused: pause_started.elapsed(),
        },
        replaced,
    ))
}

/// With the live projection paused (`_paused` is its [`BatchGate`]'s guard),
/// catches `fresh` up to at least `live_at` — where the live projection
/// is — and swaps it into `live`. Returns the position `fresh` reached and
/// the index it replaced.
pub async fn swap_in(
    store: Arc<dyn EventStore>,
    live: &SwappableIndex,
    _paused: &tokio::sync::MutexGuard<'_, ()>,
    fresh: Arc<dyn SearchIndex>,
    live_at: Position,
) -> Result<(Position, Arc<dyn SearchIndex>), RebuildError> {
    let position = catch_up(store, fresh.clone(), live_at).await?;
    Ok((position, live.replace(fresh)))
}

/// Runs the search projection on `index` from its own checkpoint until it
/// has indexed at least `target`; returns the position reached.
async fn catch_up(
    store: Arc<dyn EventStore>,
    index: Arc<dyn SearchIndex>,
    target: Position,
) -> Result<Position, RebuildError> {
    let config = SubscriptionConfig {
        batch_size: SEARCH_BATCH_SIZE,
        ..SubscriptionConfig::new(SEARCH_PROJECTION)
    };
    let (mut subscription, mut projection) = subscribe(store, index, config)
        .await
        .map_err(RebuildError::of)?;
    while subscription.acknowledged() < target {
        let batch = subscription.next_batch().await.map_err(RebuildError::of)?;
        let Some(last) = batch.last().map(|event| event.position) else {
            continue;
        };
        projection
            .handle(&batch)
            .await
            .map_err(|error| RebuildError::new("indexing a batch", error))?;
        subscription
            .acknowledge(last)
            .await
            .map_err(RebuildError::of)?;
    }
    Ok(subscription.acknowledged())
}

/// Runs at most one rebuild at a time in the background and remembers how
/// the last one ended: the [`RebuildControl`] the order handlers use.
#[derive(Clone)]
pub struct SearchRebuilds {
    store: Arc<dyn EventStore>,
    live: Arc<SwappableIndex>,
    gate: BatchGate,
    fresh: Arc<dyn FreshIndexes>,
    status: Arc<std::sync::Mutex<RebuildStatus>>,
}

impl std::fmt::Debug for SearchRebuilds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchRebuilds")
            .field("status", &self.status())
            .finish_non_exhaustive()
    }
}

impl SearchRebuilds {
    pub fn new(
        store: Arc<dyn EventStore>,
        live: Arc<SwappableIndex>,
        gate: BatchGate,
        fresh: Arc<dyn FreshIndexes>,
    ) -> Self {
        SearchRebuilds {
            store,
            live,
            gate,
            fresh,
            status: Arc::new(std::sync::Mutex::new(RebuildStatus::Idle)),
        }
    }

    fn set(&self, status: RebuildStatus) {
        *self
            .status
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = status;
    }

    async fn run(&self) -> Result<RebuildReport, RebuildError> {
        let fresh = self.fresh.create().await?;
        let rebuilt = rebuild_into(self.store.clone(), &self.live, &self.gate, fresh).await;
        let (report, replaced) = match rebuilt {
            Ok(rebuilt) => rebuilt,
            Err(error) => {
                self.fresh.abandoned().await;
                return Err(error);
            }
        };
        self.fresh.installed(replaced).await?;
        Ok(report)
    }
}

impl RebuildControl for SearchRebuilds {
    fn start(&self) -> bool {
        {
            let mut status = self
                .status
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if *status == RebuildStatus::Running {
                return false;
            }
            *status = RebuildStatus::Running;
        }
        let rebuilds = self.clone();
        tokio::spawn(async move {
            match rebuilds.run().await {
                Ok(report) => {
                    tracing::info!(position = report.position.value(), elapsed = ?report.elapsed, paused = ?report.paused, "search index rebuilt");
                    rebuilds.set(RebuildStatus::Done {
                        position: report.position,
                        elapsed: report.elapsed,
                        paused: report.paused,
                    });
                }
                Err(error) => {
                    tracing::error!(%error, "search rebuild failed; the old index stays");
                    rebuilds.set(RebuildStatus::Failed(error.to_string()));
                }
            }
        });
        true
    }

    fn status(&self) -> RebuildStatus {
        self.status
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}
