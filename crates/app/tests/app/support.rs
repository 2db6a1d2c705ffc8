//! What the test modules share: a real SQLite event store in a temp dir of
//! its own, a fixed clock, the actors of the tests, and bounded waits.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use orderflow_app::ports::{Clock, EventStore, Position, StreamName};
use orderflow_app::recorded::decode_order_event;
use orderflow_app::{Actor, IdempotencyKey, RequestContext};
use orderflow_domain::{OrderEvent, OrderId, RawLine, RawOrder, UserId};
use orderflow_store::SqliteEventStore;
use tempfile::TempDir;
use time::OffsetDateTime;
use time::macros::datetime;

/// Long enough for a loaded machine, short enough to fail a hung test.
pub const PATIENCE: Duration = Duration::from_secs(15);

/// A SQLite event store in a temp dir that lives as long as it does.
pub struct TestStore {
    pub store: Arc<SqliteEventStore>,
    _dir: TempDir,
}

impl TestStore {
    pub async fn open() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteEventStore::open(dir.path().join("events.sqlite"))
            .await
            .unwrap();
        TestStore {
            store: Arc::new(store),
            _dir: dir,
        }
    }
}

/// The clock of every test: always the same instant.
#[derive(Debug, Clone, Copy)]
pub struct FixedClock;

impl FixedClock {
    pub const NOW: OffsetDateTime = datetime!(2026-03-14 09:26:53 UTC);
}

impl Clock for FixedClock {
    fn now(&self) -> OffsetDateTime {
        Self::NOW
    }
}

pub fn user(name: &str) -> UserId {
    UserId::parse(name).unwrap()
}

pub fn buyer(name: &str) -> Actor {
    Actor {
        user_id: user(name),
        is_admin: false,
        is_buyer: true,
    }
}

pub fn admin(name: &str) -> Actor {
    Actor {
        user_id: user(name),
        is_admin: true,
        is_buyer: false,
    }
}

pub fn context(actor: Actor) -> RequestContext {
    RequestContext::new(actor)
}

pub fn context_with_key(actor: Actor, key: &str) -> RequestContext {
    RequestContext {
        idempotency_key: Some(IdempotencyKey::parse(key).unwrap()),
        ..RequestContext::new(actor)
    }
}

/// `quantity` bags of coffee beans at 12.50 EUR.
pub fn coffee(quantity: i64) -> RawOrder {
    RawOrder {
        currency: "EUR".into(),
        items: vec![RawLine {
            sku: "SKU-1".into(),
            name: "Coffee beans".into(),
            quantity,
            unit_price: "12.50".into(),
        }],
    }
}

pub fn stream_of(order_id: OrderId) -> StreamName {
    StreamName::parse(order_id.stream_name()).unwrap()
}

/// Every event of the order's stream, decoded.
pub async fn events_of(store: &dyn EventStore, order_id: OrderId) -> Vec<OrderEvent> {
    store
        .read_stream(&stream_of(order_id), 0, 1_000)
        .await
        .unwrap()
        .iter()
        .map(|recorded| decode_order_event(recorded).unwrap())
        .collect()
}

/// The store's head.
pub async fn head(store: &dyn EventStore) -> Position {
    store.head().await.unwrap()
}

/// Waits, bounded by [`PATIENCE`], until `check` holds.
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "not within {PATIENCE:?}: {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// `future`, or a failed test after [`PATIENCE`].
pub async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(PATIENCE, future)
        .await
        .unwrap_or_else(|_| panic!("not within {PATIENCE:?}: {what}"))
}
