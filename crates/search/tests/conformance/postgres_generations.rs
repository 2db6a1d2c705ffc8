//! What only the shared PostgreSQL index does when it is rebuilt: every
//! instance follows the generation in use, and replaced tables go.

use std::sync::Arc;
use std::time::Duration;

use orderflow_app::ports::FreshIndexes;
use orderflow_app::ports::{EventStore, Position, SearchIndex};
use orderflow_app::projections::search::rebuild::{BatchGate, SwappableIndex, rebuild_into};
use orderflow_search::PostgresGenerations;
use tokio::sync::watch;

use crate::backends::{EventStoreFixture, PostgresBackend};
use crate::projection::{create, project_to_head};
use crate::suite::all_documents;

/// One orders instance on the shared index: its live index, gate and maker
/// of generations.
struct Instance {
    live: Arc<SwappableIndex>,
    gate: BatchGate,
    generations: Arc<PostgresGenerations>,
}

impl Instance {
    /// Replaced generations are dropped `grace` after this instance's rebuilds.
    async fn open(backend: &PostgresBackend, grace: Duration) -> Self {
        let index = backend.connect().await;
        let generations = Arc::new(PostgresGenerations::new(&index, grace));
        Instance {
            live: Arc::new(SwappableIndex::new(Arc::new(index))),
            gate: BatchGate::default(),
            generations,
        }
    }

    async fn rebuild(&self, store: Arc<dyn EventStore>) {
        let fresh = self.generations.create().await.unwrap();
        let (_, replaced) = rebuild_into(store, &self.live, &self.gate, fresh)
            .await
            .unwrap();
        self.generations.installed(replaced).await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_follows_another_ones_rebuild_keeping_what_only_it_had_indexed() {
    let backend = PostgresBackend::new().await;
    let events = EventStoreFixture::new().await;
    let store: Arc<dyn EventStore> = events.store.clone();
    for n in 1..=10 {
        create(&*store, n, "alice").await;
    }
    // A keeps the generation it replaces for longer than the test.
    let a = Instance::open(&backend, Duration::from_secs(600)).await;
    let b = Instance::open(&backend, Duration::ZERO).await;
    project_to_head(store.clone(), b.live.clone()).await;
    assert_eq!(b.generations.in_use(), 0);

    a.rebuild(store.clone()).await;
    let rebuilt_generation = a.generations.in_use();
    assert!(rebuilt_generation > 0);
    // Order 11 is indexed only by B, into the generation it still uses.
    create(&*store, 11, "alice").await;
    project_to_head(store.clone(), b.live.clone()).await;
    let (_, b_progress) = watch::channel(store.head().await.unwrap());

    assert!(
        b.generations
            .follow_once(store.clone(), &b.live, &b.gate, &b_progress)
            .await
            .unwrap()
    );
    assert_eq!(b.generations.in_use(), rebuilt_generation);
    assert_eq!(all_documents(&*b.live).await.len(), 11);
    // A newly started instance opens the rebuilt generation, with order 11.
    let newcomer = backend.connect().await;
    assert_eq!(newcomer.generation(), rebuilt_generation);
    assert_eq!(all_documents(&newcomer).await.len(), 11);
    // Following again changes nothing.
    assert!(
        !b.generations
            .follow_once(store.clone(), &b.live, &b.gate, &b_progress)
            .await
            .unwrap()
    );
}

async fn connect_pool(backend: &PostgresBackend) -> sqlx::PgPool {
    sqlx::PgPool::connect(backend.url()).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rebuild_older_than_the_generation_in_use_is_refused_and_old_tables_are_dropped() {
    let backend = PostgresBackend::new().await;
    let events = EventStoreFixture::new().await;
    let store: Arc<dyn EventStore> = events.store.clone();
    create(&*store, 1, "alice").await;
    let a = Instance::open(&backend, Duration::ZERO).await;
    let b = Instance::open(&backend, Duration::ZERO).await;
    // A starts first (the older generation), B overtakes it.
    let older = a.generations.create().await.unwrap();
    b.rebuild(store.clone()).await;
    let (_, replaced) = rebuild_into(store.clone(), &a.live, &a.gate, older)
        .await
        .unwrap();
    let refused = a.generations.installed(replaced).await.unwrap_err();
    assert!(refused.to_string().contains("newer rebuild"), "{refused}");
    assert_eq!(backend.connect().await.generation(), b.generations.in_use());

    // A third rebuild drops every generation older than the one it replaces.
    b.rebuild(store.clone()).await;
    let pool = connect_pool(&backend).await;
    let mut tables: Vec<String> = Vec::new();
    for _ in 0..100 {
        tables = sqlx::query_scalar(
            "SELECT tablename::text FROM pg_tables WHERE tablename LIKE 'search_orders_g%' ORDER BY 1",
        )
        .fetch_all(&pool)
        .await
        .unwrap();
        if tables.len() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        tables,
        vec![format!("search_orders_g{}", b.generations.in_use())]
    );
    let position: Position = backend
        .connect()
        .await
        .checkpoint(orderflow_app::projections::search::SEARCH_PROJECTION)
        .await
        .unwrap();
    assert_eq!(position, store.head().await.unwrap());
    // Generation 0 is the template of the others: emptied, never dropped.
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM search_orders")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(left, 0);
}
