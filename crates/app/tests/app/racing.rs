//! An event store that makes appends lose races: the real store, with a
//! concurrent change slipped in right before an append at an exact revision.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use orderflow_app::orders::to_new_event;
use orderflow_app::ports::{
    AppendOutcome, EventMetadata, EventStore, EventStoreError, ExpectedRevision, NewEvent,
    Position, RecordedEvent, StreamName,
};
use orderflow_domain::{OrderEvent, OrderId};
use tokio::sync::watch;
use uuid::Uuid;

use crate::support::{FixedClock, user};

/// The real store, except that the first `races` appends at an exact
/// revision lose a race: just before each, a rival subscription to the same
/// order is appended at that very revision.
pub struct RacingStore {
    inner: Arc<dyn EventStore>,
    races: usize,
    exact_appends: AtomicUsize,
}

impl RacingStore {
    pub fn new(inner: Arc<dyn EventStore>, races: usize) -> Self {
        RacingStore {
            inner,
            races,
            exact_appends: AtomicUsize::new(0),
        }
    }

    pub fn exact_appends(&self) -> usize {
        self.exact_appends.load(Ordering::SeqCst)
    }
}

/// The `n`th rival who subscribes to an order while it is being changed.
pub fn rival(n: usize) -> String {
    format!("rival-{n}")
}

#[async_trait]
impl EventStore for RacingStore {
    async fn append(
        &self,
        stream: &StreamName,
        expected: ExpectedRevision,
        events: Vec<NewEvent>,
    ) -> Result<AppendOutcome, EventStoreError> {
        if let ExpectedRevision::Exact(_) = expected {
            let n = self.exact_appends.fetch_add(1, Ordering::SeqCst) + 1;
            if n <= self.races {
                let concurrent = OrderEvent::OrderSubscriptionAdded {
                    order_id: OrderId::from_stream_name(stream.as_str()).unwrap(),
                    subscriber_id: user(&rival(n)),
                };
                let metadata = EventMetadata {
                    correlation_id: Uuid::now_v7(),
                    causation_id: Uuid::now_v7(),
                    user_id: Some(rival(n)),
                    occurred_at: FixedClock::NOW,
                    trace: orderflow_app::TraceContext::none(),
                };
                let event = to_new_event(&concurrent, Uuid::now_v7(), metadata);
                self.inner.append(stream, expected, vec![event]).await?;
            }
        }
        self.inner.append(stream, expected, events).await
    }

    async fn read_stream(
        &self,
        stream: &StreamName,
        from_revision: u64,
        max_count: usize,
    ) -> Result<Vec<RecordedEvent>, EventStoreError> {
        self.inner
            .read_stream(stream, from_revision, max_count)
            .await
    }

    async fn read_all(
        &self,
        after: Position,
        max_count: usize,
    ) -> Result<Vec<RecordedEvent>, EventStoreError> {
        self.inner.read_all(after, max_count).await
    }

    async fn head(&self) -> Result<Position, EventStoreError> {
        self.inner.head().await
    }

    fn watch_head(&self) -> watch::Receiver<Position> {
        self.inner.watch_head()
    }
}
