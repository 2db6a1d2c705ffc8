//! Full rebuild of the search index from the event store, on both adapters.
//!
//! Fills a SQLite event store with N orders as `POST /orders` stores them
//! (`OrderCreated` + `OrderSubscriptionAdded`, made by the domain), half of
//! them then confirmed (`OrderConfirmed`), then times the search projection
//! reading every event from position 0 through a subscription until it has
//! committed the head into the index.
//!
//! ```text
//! cargo bench -p orderflow-search --bench rebuild                  # both adapters
//! cargo bench -p orderflow-search --bench rebuild -- tantivy       # one adapter
//! ORDERFLOW_BENCH_ORDERS=50000 ORDERFLOW_BENCH_BATCH=1000 \
//!     cargo bench -p orderflow-search --bench rebuild                # size, events per batch
//! ```
//!
//! The batch defaults to `SEARCH_BATCH_SIZE`, what `subscription_config()` uses.
//! A line "reading events only" times a subscription that indexes nothing:
//! the floor under any rebuild.
//!
//! PostgreSQL runs in a fresh database on `ORDERFLOW_TEST_DATABASE_URL`
//! (default `postgres://postgres@127.0.0.1:5432/postgres`), dropped afterwards.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use orderflow_app::ports::SearchScope;
use orderflow_app::ports::{
    EventStore, ExpectedRevision, NewEvent, OrderDocument, Position, RecordedEvent, SearchIndex,
    SearchQuery, StreamName,
};
use orderflow_app::projections::search::{SEARCH_BATCH_SIZE, subscribe, subscription_config};
use orderflow_app::subscription::{
    CatchUpSubscription, EventHandler, HandlerError, SubscriptionConfig, run_subscription,
};
use orderflow_domain::{OrderCommand, OrderEvent, OrderId, OrderStatus, decide, testing};
use orderflow_search::{PostgresSearchIndex, TantivySearchIndex};
use orderflow_store::SqliteEventStore;
use orderflow_testkit::TestDatabase;
use orderflow_testkit::events::stored_events;
use time::OffsetDateTime;
use uuid::Uuid;

const WRITERS: u64 = 64;

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

fn new_events(events: &[OrderEvent], user: &str) -> Vec<NewEvent> {
    stored_events(events, Some(user), OffsetDateTime::now_utc())
}

/// Appends `orders` orders with 64 concurrent writers (group commit);
/// every other order is confirmed right after it is created.
async fn fill(store: Arc<SqliteEventStore>, orders: u64) -> u64 {
    let tasks: Vec<_> = (0..WRITERS)
        .map(|writer| {
            let store = store.clone();
            tokio::spawn(async move {
                let buyer = format!("buyer-{}", writer % 8);
                let mut events = 0;
                for n in (writer..orders).step_by(WRITERS as usize) {
                    let order_id = OrderId::from_uuid(Uuid::now_v7()).unwrap();
                    let stream = StreamName::parse(order_id.stream_name()).unwrap();
                    let command = OrderCommand::from(testing::create_order(order_id, &buyer));
                    let created = decide(None, &command, OffsetDateTime::now_utc()).unwrap();
                    events += created.len() as u64;
                    store
                        .append(
                            &stream,
                            ExpectedRevision::NoStream,
                            new_events(&created, &buyer),
                        )
                        .await
                        .unwrap();
                    if n % 2 == 0 {
                        let confirmed = [OrderEvent::OrderConfirmed {
                            order_id,
                            confirmed_at: OffsetDateTime::now_utc(),
                        }];
                        events += 1;
                        store
                            .append(
                                &stream,
                                ExpectedRevision::Exact(1),
                                new_events(&confirmed, "admin"),
                            )
                            .await
                            .unwrap();
                    }
                }
                events
            })
        })
        .collect();
    let mut events = 0;
    for task in tasks {
        events += task.await.unwrap();
    }
    events
}

/// Handles nothing: what reading the events through a subscription costs.
struct ReadOnly(tokio::sync::watch::Sender<Position>);

#[async_trait::async_trait]
impl EventHandler for ReadOnly {
    async fn handle(&mut self, events: &[RecordedEvent]) -> Result<(), HandlerError> {
        if let Some(last) = events.last() {
            self.0.send_replace(last.position);
        }
        Ok(())
    }
}

/// Reads every event through a subscription that only acknowledges.
async fn read_everything(store: Arc<SqliteEventStore>, batch: usize) -> Duration {
    let head = store.head().await.unwrap();
    let config = SubscriptionConfig {
        batch_size: batch,
        ..SubscriptionConfig::new(format!("read-only-{}", Uuid::now_v7()))
    };
    let started = Instant::now();
    let subscription = CatchUpSubscription::open(store.clone(), store, config)
        .await
        .unwrap();
    let (progress, mut read) = tokio::sync::watch::channel(Position::START);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(run_subscription(subscription, ReadOnly(progress), async {
        let _ = stopped.await;
    }));
    read.wait_for(|position| *position >= head).await.unwrap();
    let elapsed = started.elapsed();
    let _ = stop.send(());
    running.await.unwrap();
    elapsed
}

/// Rebuilds `index` from position 0 and returns how long it took.
async fn rebuild(
    store: Arc<SqliteEventStore>,
    index: Arc<dyn SearchIndex>,
    batch: usize,
) -> Duration {
    index.clear().await.unwrap();
    let head = store.head().await.unwrap();
    let config = SubscriptionConfig {
        batch_size: batch,
        ..subscription_config()
    };
    let started = Instant::now();
    let (subscription, projection) = subscribe(store, index, config).await.unwrap();
    let mut progress = projection.progress();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(run_subscription(subscription, projection, async {
        let _ = stopped.await;
    }));
    progress
        .wait_for(|position| *position >= head)
        .await
        .unwrap();
    let elapsed = started.elapsed();
    let _ = stop.send(());
    running.await.unwrap();
    elapsed
}

async fn check(index: &dyn SearchIndex, orders: u64) {
    let all = SearchQuery::new(SearchScope::Everyone);
    let pending = all.clone().with_status(OrderStatus::Pending);
    let total = index.search(&all).await.unwrap().total;
    let pending = index.search(&pending).await.unwrap().total;
    assert_eq!(total, orders, "every order is indexed");
    assert_eq!(pending, orders / 2, "half of them are pending");
    let newest: Vec<OrderDocument> = index.search(&all).await.unwrap().items;
    assert!(!newest.is_empty());
}

fn report(adapter: &str, orders: u64, events: u64, elapsed: Duration) {
    let seconds = elapsed.as_secs_f64();
    println!(
        "{adapter:<22} {orders} orders / {events} events in {seconds:.2} s: \
         {:.0} orders/s, {:.0} events/s",
        orders as f64 / seconds,
        events as f64 / seconds,
    );
}

#[tokio::main]
async fn main() {
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|arg| !arg.starts_with('-'))
        .collect();
    let wanted =
        |adapter: &str| filter.is_empty() || filter.iter().any(|f| adapter.contains(f.as_str()));
    let orders = env_number("ORDERFLOW_BENCH_ORDERS", 50_000) as u64;
    let batch = env_number("ORDERFLOW_BENCH_BATCH", SEARCH_BATCH_SIZE);

    let directory = tempfile::tempdir().unwrap();
    let store = Arc::new(
        SqliteEventStore::open(directory.path().join("events.sqlite"))
            .await
            .unwrap(),
    );
    let filled = Instant::now();
    let events = fill(store.clone(), orders).await;
    println!(
        "filled the SQLite event store with {orders} orders / {events} events in {:.1} s \
         (subscription batch {batch})",
        filled.elapsed().as_secs_f64()
    );

    let elapsed = read_everything(store.clone(), batch).await;
    report("(reading events only)", orders, events, elapsed);

    if wanted("tantivy") {
        let path = directory.path().join("search");
        let index: Arc<dyn SearchIndex> = Arc::new(TantivySearchIndex::open(&path).unwrap());
        let elapsed = rebuild(store.clone(), index.clone(), batch).await;
        report("rebuild tantivy", orders, events, elapsed);
        check(&*index, orders).await;
    }
    if wanted("postgres") {
        let database = TestDatabase::create().await;
        let index: Arc<dyn SearchIndex> = Arc::new(
            PostgresSearchIndex::connect(database.url(), 4)
                .await
                .unwrap(),
        );
        let elapsed = rebuild(store.clone(), index.clone(), batch).await;
        report("rebuild postgres", orders, events, elapsed);
        check(&*index, orders).await;
        drop(index);
        drop(database);
    }
}
