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

use async_trait::async_trait;
use orderflow_app::ports::{EventStore, Position, RecordedEvent, SearchIndex};
use orderflow_app::subscription::{EventHandler, HandlerError, SubscriptionConfig};

pub use swappable::{BatchGate, SwappableIndex};

use crate::projection::{SEARCH_BATCH_SIZE, SEARCH_PROJECTION, subscribe};

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

/// Why a rebuild stopped; the live index is untouched.
#[derive(Debug, thiserror::Error)]
#[error("search rebuild failed: {0}")]
pub struct RebuildError(pub String);

/// A rebuild error saying `error`.
pub(crate) fn failed(error: impl std::fmt::Display) -> RebuildError {
    RebuildError(error.to_string())
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
    let head = store.head().await.map_err(failed)?;
    catch_up(store.clone(), fresh.clone(), head).await?;
    let paused = gate.lock().await;
    let pause_started = Instant::now();
    let live_at = live
        .current()
        .checkpoint(SEARCH_PROJECTION)
        .await
        .map_err(failed)?;
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
    let (mut subscription, mut projection) =
        subscribe(store, index, config).await.map_err(failed)?;
    while subscription.acknowledged() < target {
        let batch = subscription.next_batch().await.map_err(failed)?;
        let Some(last) = batch.last().map(|event| event.position) else {
            continue;
        };
        projection
            .handle(&batch)
            .await
            .map_err(|error| failed(error.to_string()))?;
        subscription.acknowledge(last).await.map_err(failed)?;
    }
    Ok(subscription.acknowledged())
}

/// Makes the fresh index a rebuild fills, and installs it for good once it
/// has been swapped in (an embedded index records its new directory and
/// deletes the old one; a shared one points every instance at it).
#[async_trait]
pub trait FreshIndexes: Send + Sync + 'static {
    async fn create(&self) -> Result<Arc<dyn SearchIndex>, RebuildError>;
    async fn installed(&self, replaced: Arc<dyn SearchIndex>) -> Result<(), RebuildError>;
    /// The rebuild failed before the swap: removes what `create` made.
    async fn abandoned(&self);
}

/// What a [`FreshIndexes`] adapter is filling: set by `create`, taken by
/// `installed` or `abandoned`.
#[derive(Debug)]
pub(crate) struct Building<T>(std::sync::Mutex<Option<T>>);

impl<T> Default for Building<T> {
    fn default() -> Self {
        Building(std::sync::Mutex::new(None))
    }
}

impl<T> Building<T> {
    pub(crate) fn started(&self, fresh: T) {
        *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(fresh);
    }

    /// What was being built, if anything; nothing is being built afterwards.
    pub(crate) fn finished(&self) -> Option<T> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
    }
}

/// Where the rebuild of a running service stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RebuildState {
    Idle,
    Running,
    Done(RebuildReport),
    Failed(String),
}

/// Runs at most one rebuild at a time in the background and remembers how
/// the last one ended.
pub struct SearchRebuilds {
    store: Arc<dyn EventStore>,
    live: Arc<SwappableIndex>,
    gate: BatchGate,
    fresh: Arc<dyn FreshIndexes>,
    state: std::sync::Mutex<RebuildState>,
}

impl std::fmt::Debug for SearchRebuilds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchRebuilds")
            .field("state", &self.state())
            .finish_non_exhaustive()
    }
}

impl SearchRebuilds {
    pub fn new(
        store: Arc<dyn EventStore>,
        live: Arc<SwappableIndex>,
        gate: BatchGate,
        fresh: Arc<dyn FreshIndexes>,
    ) -> Arc<Self> {
        Arc::new(SearchRebuilds {
            store,
            live,
            gate,
            fresh,
            state: std::sync::Mutex::new(RebuildState::Idle),
        })
    }

    pub fn state(&self) -> RebuildState {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn set(&self, state: RebuildState) {
        *self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = state;
    }

    /// Starts a rebuild in the background; `false` when one is running.
    pub fn start(self: &Arc<Self>) -> bool {
        {
            let mut state = self
                .state
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if *state == RebuildState::Running {
                return false;
            }
            *state = RebuildState::Running;
        }
        let rebuilds = self.clone();
        tokio::spawn(async move {
            let outcome = rebuilds.run().await;
            match outcome {
                Ok(report) => {
                    tracing::info!(position = report.position.value(), elapsed = ?report.elapsed, paused = ?report.paused, "search index rebuilt");
                    rebuilds.set(RebuildState::Done(report));
                }
                Err(error) => {
                    tracing::error!(%error, "search rebuild failed; the old index stays");
                    rebuilds.set(RebuildState::Failed(error.0));
                }
            }
        });
        true
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

#[cfg(test)]
mod tests {
    use orderflow_app::ports::{ExpectedRevision, SearchQuery, SearchScope, StreamName};
    use orderflow_domain::testing::{create_order, order_id};
    use orderflow_domain::{OrderCommand, decide};
    use orderflow_store::SqliteEventStore;
    use orderflow_testkit::ScratchPath;
    use orderflow_testkit::events::stored_events;
    use time::OffsetDateTime;

    use super::*;
    use crate::TantivySearchIndex;

    async fn place(store: &dyn EventStore, n: u64) {
        let command = OrderCommand::from(create_order(order_id(n), "alice"));
        let events = decide(None, &command, OffsetDateTime::UNIX_EPOCH).unwrap();
        let stream = StreamName::parse(order_id(n).stream_name()).unwrap();
        let new_events = stored_events(&events, None, OffsetDateTime::UNIX_EPOCH);
        store
            .append(&stream, ExpectedRevision::NoStream, new_events)
            .await
            .unwrap();
    }

    async fn everything(index: &dyn SearchIndex) -> Vec<String> {
        let page = index
            .search(&SearchQuery::new(SearchScope::Everyone))
            .await
            .unwrap();
        page.items.iter().map(|d| d.order_id.to_string()).collect()
    }

    #[tokio::test]
    async fn a_rebuild_swaps_in_a_fresh_index_holding_what_the_live_one_held() {
        let scratch = ScratchPath::new("events.sqlite");
        let store: Arc<dyn EventStore> =
            Arc::new(SqliteEventStore::open(scratch.path()).await.unwrap());
        for n in 1..=5 {
            place(&*store, n).await;
        }
        let old: Arc<dyn SearchIndex> = Arc::new(TantivySearchIndex::in_memory().unwrap());
        let head = store.head().await.unwrap();
        catch_up(store.clone(), old.clone(), head).await.unwrap();
        let live = SwappableIndex::new(old.clone());
        let gate = BatchGate::default();
        let before = everything(&live).await;
        assert_eq!(before.len(), 5);

        let fresh: Arc<dyn SearchIndex> = Arc::new(TantivySearchIndex::in_memory().unwrap());
        let (report, replaced) = rebuild_into(store.clone(), &live, &gate, fresh.clone())
            .await
            .unwrap();

        assert!(Arc::ptr_eq(&replaced, &old));
        assert!(Arc::ptr_eq(&live.current(), &fresh));
        assert_eq!(report.position, head);
        assert_eq!(everything(&live).await, before);
        assert_eq!(live.checkpoint(SEARCH_PROJECTION).await.unwrap(), head);
    }
}
