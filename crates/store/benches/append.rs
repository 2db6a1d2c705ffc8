//! Durable append throughput and subscription catch-up, on both adapters.
//!
//! Each "order" is what `POST /orders` stores: a real `OrderCreated` +
//! `OrderSubscriptionAdded` pair made by the domain, appended with
//! `ExpectedRevision::NoStream` to a stream of its own. Writers are Tokio
//! tasks appending back to back; every append has returned only after its
//! commit is durable (SQLite `synchronous = FULL`, PostgreSQL's default
//! `synchronous_commit = on`).
//!
//! ```text
//! cargo bench -p orderflow-store --bench append                     # both adapters
//! cargo bench -p orderflow-store --bench append -- sqlite           # one adapter
//! ORDERFLOW_BENCH_ORDERS=50000 cargo bench -p orderflow-store --bench append
//! ```
//!
//! PostgreSQL runs in a fresh database on `ORDERFLOW_TEST_DATABASE_URL`
//! (default `postgres://postgres@127.0.0.1:5432/postgres`), dropped afterwards.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use orderflow_app::ports::{
    CheckpointStore, EventStore, ExpectedRevision, NewEvent, Position, StreamName,
};
use orderflow_app::subscription::{CatchUpSubscription, SubscriptionConfig};
use orderflow_domain::{OrderCommand, OrderEvent, OrderId, decide, testing};
use orderflow_store::postgres::PostgresOptions;
use orderflow_store::{PostgresEventStore, SqliteEventStore};
use orderflow_testkit::TestDatabase;
use orderflow_testkit::events::stored_events;
use time::OffsetDateTime;
use uuid::Uuid;

trait Store: EventStore + CheckpointStore {}
impl<T: EventStore + CheckpointStore> Store for T {}

fn order_events(user: &str) -> (StreamName, Vec<NewEvent>) {
    let order_id = OrderId::from_uuid(Uuid::now_v7()).unwrap();
    let command = OrderCommand::from(testing::create_order(order_id, user));
    let events: Vec<OrderEvent> = decide(None, &command, OffsetDateTime::now_utc()).unwrap();
    let new_events = stored_events(&events, Some(user), OffsetDateTime::now_utc());
    (
        StreamName::parse(order_id.stream_name()).unwrap(),
        new_events,
    )
}

struct AppendFigures {
    orders_per_second: f64,
    p50: Duration,
    p99: Duration,
}

async fn append_orders(store: Arc<dyn Store>, writers: usize, orders: usize) -> AppendFigures {
    let per_writer = orders / writers;
    let started = Instant::now();
    let tasks: Vec<_> = (0..writers)
        .map(|writer| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut latencies = Histogram::<u64>::new(3).unwrap();
                let user = format!("buyer-{writer}");
                for _ in 0..per_writer {
                    let (stream, events) = order_events(&user);
                    let sent = Instant::now();
                    store
                        .append(&stream, ExpectedRevision::NoStream, events)
                        .await
                        .unwrap();
                    latencies.record(sent.elapsed().as_micros() as u64).unwrap();
                }
                latencies
            })
        })
        .collect();
    let mut latencies = Histogram::<u64>::new(3).unwrap();
    for task in tasks {
        latencies.add(task.await.unwrap()).unwrap();
    }
    let elapsed = started.elapsed();
    AppendFigures {
        orders_per_second: (per_writer * writers) as f64 / elapsed.as_secs_f64(),
        p50: Duration::from_micros(latencies.value_at_quantile(0.5)),
        p99: Duration::from_micros(latencies.value_at_quantile(0.99)),
    }
}

async fn catch_up(store: Arc<dyn Store>) -> (u64, f64) {
    let head = store.head().await.unwrap();
    let name = format!("bench-{}", Uuid::new_v4());
    let config = SubscriptionConfig {
        batch_size: 1_000,
        ..SubscriptionConfig::new(name)
    };
    let mut subscription = CatchUpSubscription::open(store.clone(), store, config)
        .await
        .unwrap();
    let started = Instant::now();
    let mut read = 0u64;
    let mut last = Position::START;
    while last < head {
        let batch = subscription.next_batch().await.unwrap();
        read += batch.len() as u64;
        last = batch.last().unwrap().position;
    }
    subscription.acknowledge(last).await.unwrap();
    (read, read as f64 / started.elapsed().as_secs_f64())
}

async fn run(adapter: &str, store: Arc<dyn Store>, orders: usize) {
    for writers in [1, 64] {
        let orders = if writers == 1 { orders / 10 } else { orders };
        let figures = append_orders(store.clone(), writers, orders).await;
        println!(
            "{adapter:<8} append  writers={writers:<3} orders={orders:<6} {:>8.0} orders/s {:>8.0} events/s  p50={:?} p99={:?}",
            figures.orders_per_second,
            figures.orders_per_second * 2.0,
            figures.p50,
            figures.p99
        );
    }
    let (events, per_second) = catch_up(store).await;
    println!("{adapter:<8} catch-up events={events:<7} {per_second:>8.0} events/s");
}

#[tokio::main]
async fn main() {
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let wanted =
        |adapter: &str| filter.is_empty() || filter.iter().any(|f| adapter.contains(f.as_str()));
    let orders: usize = std::env::var("ORDERFLOW_BENCH_ORDERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);

    if wanted("sqlite") {
        let directory = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
        let store = SqliteEventStore::open(directory.path().join("events.sqlite"))
            .await
            .unwrap();
        run("sqlite", Arc::new(store), orders).await;
    }
    if wanted("postgres") {
        let database = TestDatabase::create().await;
        let mut options = PostgresOptions::default();
        if let Some(writers) = std::env::var("ORDERFLOW_BENCH_PG_WRITERS")
            .ok()
            .and_then(|v| v.parse().ok())
        {
            options.writers = writers;
        }
        let store = PostgresEventStore::connect(database.url(), options)
            .await
            .unwrap();
        run("postgres", Arc::new(store), orders).await;
        drop(database);
    }
}
