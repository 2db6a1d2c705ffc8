//! The search projection: order events in, search documents out.
//!
//! [`SearchProjection`] is an [`EventHandler`] driven by an event-store
//! subscription ([`subscribe`] opens both). Guarantees:
//! * **One index write per batch.** The events of a batch are grouped by
//!   order and folded into one document per order, written with the batch's
//!   last position as the projection checkpoint in a single
//!   [`SearchIndex::apply`]: documents and checkpoint commit together.
//! * **Idempotent by stream revision.** Each document carries the revision
//!   of the last event it reflects; events at or below it are ignored and the
//!   index refuses older documents, so replays, a crash between the index
//!   commit and the subscription's checkpoint, or several instances running
//!   the projection never make a document go back in time.
//! * **Self-healing.** When a batch continues an order that the index does
//!   not hold, or holds at an older revision than the batch's first event
//!   expects (a lost or restored index), the missing events are read from
//!   the order's stream before folding.
//! * **What is skipped, what fails.** Events of streams other than `order-…`
//!   are skipped. An event of an order stream that does not decode (unknown
//!   type, future version, bad body) fails the batch, which the subscription
//!   retries: nothing is silently dropped, and the projection waits for code
//!   that can read it.

mod checkpoints;
mod fold;
pub mod rebuild;

use std::collections::HashMap;
use std::sync::Arc;

use crate::ports::{
    EventStore, EventStoreError, IndexUpdate, OrderDocument, Position, ProjectionCheckpoint,
    RecordedEvent, SearchIndex, StreamName,
};
use crate::recorded::{RecordedEventError, decode_order_event};
use crate::subscription::{CatchUpSubscription, EventHandler, HandlerError, SubscriptionConfig};
use async_trait::async_trait;
use orderflow_domain::{OrderEvent, OrderId};
use tokio::sync::watch;

use checkpoints::IndexCheckpoints;
use fold::fold;

/// The subscription name (and checkpoint name) of the search projection.
pub const SEARCH_PROJECTION: &str = "search";

/// Most events per batch in [`subscription_config`]. Each batch is one index
/// commit, whose fixed cost (new segment files and their fsyncs on tantivy,
/// a transaction on PostgreSQL) dominates small batches: a catch-up or a
/// rebuild goes several times faster with large ones. Live, batches stay
/// small by themselves (whatever arrived since the last commit).
pub const SEARCH_BATCH_SIZE: usize = 10_000;

/// Least time between two index commits under load: a busy stream gathers
/// into fewer, larger commits (each tantivy commit writes and fsyncs a
/// segment that is merged later, competing for the disk with the event
/// store's commits); an event after a quiet spell is indexed at once. Adds at
/// most this much to create → searchable. 100 ms: see docs/BENCHMARKS.md
/// (push latency versus create → searchable).
pub const SEARCH_COMMIT_INTERVAL: std::time::Duration = std::time::Duration::from_millis(100);

/// How the search projection's subscription should read: named
/// [`SEARCH_PROJECTION`], batches of up to [`SEARCH_BATCH_SIZE`] events.
pub fn subscription_config() -> SubscriptionConfig {
    SubscriptionConfig {
        batch_size: SEARCH_BATCH_SIZE,
        min_batch_interval: SEARCH_COMMIT_INTERVAL,
        ..SubscriptionConfig::new(SEARCH_PROJECTION)
    }
}

/// The category of the streams this projection reads.
const ORDER_CATEGORY: &str = "order";

/// Most events read at once when healing an order from its stream.
const HEAL_READ: usize = 1_000;

/// Folds order events into the search index. See the module header.
pub struct SearchProjection {
    name: String,
    index: Arc<dyn SearchIndex>,
    store: Arc<dyn EventStore>,
    progress: watch::Sender<Position>,
}

impl std::fmt::Debug for SearchProjection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchProjection")
            .field("name", &self.name)
            .field("position", &*self.progress.borrow())
            .finish_non_exhaustive()
    }
}

/// Opens the subscription `config.name` at the checkpoint stored **in the
/// index** (so a rebuilt or lost index starts over from the first event) and
/// the projection that writes it. Run them with
/// [`crate::subscription::run_subscription`].
pub async fn subscribe(
    store: Arc<dyn EventStore>,
    index: Arc<dyn SearchIndex>,
    config: SubscriptionConfig,
) -> Result<(CatchUpSubscription, SearchProjection), EventStoreError> {
    let checkpoints = Arc::new(IndexCheckpoints::new(index.clone()));
    let name = config.name.clone();
    let subscription = CatchUpSubscription::open(store.clone(), checkpoints, config).await?;
    let projection = SearchProjection::new(name, index, store);
    projection
        .progress
        .send_replace(subscription.acknowledged());
    Ok((subscription, projection))
}

impl SearchProjection {
    /// A projection that stores its checkpoint in `index` under `name`;
    /// `store` is read only to heal orders the index lacks.
    pub fn new(
        name: impl Into<String>,
        index: Arc<dyn SearchIndex>,
        store: Arc<dyn EventStore>,
    ) -> Self {
        SearchProjection {
            name: name.into(),
            index,
            store,
            progress: watch::Sender::new(Position::START),
        }
    }

    /// The last position written to the index by this projection (in this
    /// process): wait on it for read-your-writes. Other processes read
    /// [`SearchIndex::checkpoint`] instead.
    pub fn progress(&self) -> watch::Receiver<Position> {
        self.progress.subscribe()
    }

    async fn index_batch(&self, events: &[RecordedEvent]) -> Result<(), ProjectionError> {
        let Some(last) = events.last().map(|event| event.position) else {
            return Ok(());
        };
        let orders = group_by_order(events)?;
        let continued: Vec<OrderId> = orders
            .iter()
            .filter(|order| {
                order
                    .events
                    .first()
                    .is_some_and(|(_, revision)| *revision > 0)
            })
            .map(|order| order.id)
            .collect();
        let mut stored: HashMap<OrderId, OrderDocument> = self
            .index
            .get_many(&continued)
            .await?
            .into_iter()
            .map(|document| (document.order_id, document))
            .collect();
        let mut documents = Vec::with_capacity(orders.len());
        for order in orders {
            let before = stored.remove(&order.id);
            let before_revision = before.as_ref().map(|document| document.revision);
            let mut document = before;
            self.heal(&order, &mut document).await?;
            for (event, revision) in order.events {
                fold(&mut document, event, revision).map_err(|error| {
                    ProjectionError::Fold(format!("order {}: {error}", order.id))
                })?;
            }
            if let Some(document) = document
                && Some(document.revision) != before_revision
            {
                documents.push(document);
            }
        }
        let update = IndexUpdate {
            documents,
            checkpoint: Some(ProjectionCheckpoint {
                projection: self.name.clone(),
                position: last,
            }),
        };
        self.index.apply(update).await?;
        self.progress.send_replace(last);
        Ok(())
    }

    /// Folds the events of `order`'s stream that come before the batch's
    /// first one and are missing from `document`.
    async fn heal(
        &self,
        order: &OrderEvents,
        document: &mut Option<OrderDocument>,
    ) -> Result<(), ProjectionError> {
        let Some(&(_, first)) = order.events.first() else {
            return Ok(());
        };
        let mut next = document
            .as_ref()
            .map_or(0, |document| document.revision + 1);
        if next >= first {
            return Ok(());
        }
        tracing::warn!(order_id = %order.id, from = next, to = first, "search index misses events of an order, reading its stream");
        while next < first {
            let wanted = usize::try_from(first - next)
                .unwrap_or(HEAL_READ)
                .min(HEAL_READ);
            let events = self.store.read_stream(&order.stream, next, wanted).await?;
            if events.is_empty() {
                break;
            }
            for recorded in events {
                next = recorded.revision + 1;
                let event = decode_order_event(&recorded)?;
                fold(document, event, recorded.revision).map_err(|error| {
                    ProjectionError::Fold(format!("order {}: {error}", order.id))
                })?;
            }
        }
        Ok(())
    }
}

#[async_trait]
impl EventHandler for SearchProjection {
    #[tracing::instrument(skip_all, fields(projection = %self.name, events = events.len()), err)]
    async fn handle(&mut self, events: &[RecordedEvent]) -> Result<(), HandlerError> {
        // One span per trace among the events, open until the batch is indexed.
        let name = self.name.clone();
        let mut spans = crate::subscription::EventSpans::new(&name);
        for event in events {
            spans.span_for(event);
        }
        let indexed = self.index_batch(events).await.map_err(HandlerError::of);
        drop(spans);
        indexed
    }
}

/// Why a batch could not be indexed; the subscription retries it.
#[derive(Debug, thiserror::Error)]
enum ProjectionError {
    #[error(transparent)]
    Decode(#[from] RecordedEventError),
    #[error("{0}")]
    Fold(String),
    #[error(transparent)]
    Search(#[from] crate::ports::SearchError),
    #[error(transparent)]
    EventStore(#[from] EventStoreError),
}

/// The events of one order within a batch, with their stream revisions.
struct OrderEvents {
    id: OrderId,
    stream: StreamName,
    events: Vec<(OrderEvent, u64)>,
}

/// The batch's order events, grouped by order in order of first appearance.
fn group_by_order(events: &[RecordedEvent]) -> Result<Vec<OrderEvents>, ProjectionError> {
    let mut orders: Vec<OrderEvents> = Vec::new();
    let mut slots: HashMap<OrderId, usize> = HashMap::new();
    for recorded in events {
        if recorded.stream.category() != ORDER_CATEGORY {
            continue;
        }
        let event = decode_order_event(recorded)?;
        let id = event.order_id();
        let slot = *slots.entry(id).or_insert_with(|| {
            orders.push(OrderEvents {
                id,
                stream: recorded.stream.clone(),
                events: Vec::new(),
            });
            orders.len() - 1
        });
        orders[slot].events.push((event, recorded.revision));
    }
    Ok(orders)
}

#[cfg(test)]
mod tests;
