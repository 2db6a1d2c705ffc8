//! The search index adapters under test, and the event store the projection
//! tests read from.

use std::sync::Arc;

use async_trait::async_trait;
use orderflow_app::ports::FreshIndexes;
use orderflow_app::ports::SearchIndex;
use orderflow_search::tantivy_index::generations::directory_in_use;
use orderflow_search::{
    PostgresGenerations, PostgresSearchIndex, TantivyGenerations, TantivySearchIndex,
};
use orderflow_store::SqliteEventStore;
use orderflow_testkit::TestDatabase;

#[async_trait]
pub trait Backend: Send + Sync {
    /// Opens the index on this backend's storage. Tantivy allows one open
    /// instance per directory: drop the previous one before reopening.
    async fn open(&self) -> Arc<dyn SearchIndex>;

    /// Opens the index in use, and the adapter's own maker of fresh indexes
    /// for rebuilding it.
    async fn open_rebuildable(&self) -> (Arc<dyn SearchIndex>, Arc<dyn FreshIndexes>);
}

pub struct TantivyBackend {
    scratch: orderflow_testkit::ScratchPath,
}

impl TantivyBackend {
    pub async fn new() -> Self {
        TantivyBackend {
            scratch: orderflow_testkit::ScratchPath::new("data"),
        }
    }

    /// The index directory in use in this backend's data dir, opened.
    async fn open_in_use(&self) -> (TantivySearchIndex, std::path::PathBuf) {
        let directory = directory_in_use(self.scratch.path());
        let path = directory.clone();
        let index = tokio::task::spawn_blocking(move || TantivySearchIndex::open(&path))
            .await
            .unwrap()
            .unwrap();
        (index, directory)
    }
}

#[async_trait]
impl Backend for TantivyBackend {
    async fn open(&self) -> Arc<dyn SearchIndex> {
        Arc::new(self.open_in_use().await.0)
    }

    async fn open_rebuildable(&self) -> (Arc<dyn SearchIndex>, Arc<dyn FreshIndexes>) {
        let (index, directory) = self.open_in_use().await;
        let generations = TantivyGenerations::new(self.scratch.path(), directory);
        (Arc::new(index), Arc::new(generations))
    }
}

/// A database of its own on the test server, dropped with the backend.
pub struct PostgresBackend {
    database: TestDatabase,
}

impl PostgresBackend {
    pub async fn new() -> Self {
        PostgresBackend {
            database: TestDatabase::create().await,
        }
    }

    pub fn url(&self) -> &str {
        self.database.url()
    }

    /// The index on the generation in use, as an instance opens it.
    pub async fn connect(&self) -> PostgresSearchIndex {
        PostgresSearchIndex::connect(self.database.url(), 4)
            .await
            .unwrap()
    }
}

#[async_trait]
impl Backend for PostgresBackend {
    async fn open(&self) -> Arc<dyn SearchIndex> {
        Arc::new(self.connect().await)
    }

    /// Replaced generations are dropped at once (no other instance reads them).
    async fn open_rebuildable(&self) -> (Arc<dyn SearchIndex>, Arc<dyn FreshIndexes>) {
        let index = self.connect().await;
        let generations = PostgresGenerations::new(&index, std::time::Duration::ZERO);
        (Arc::new(index), Arc::new(generations))
    }
}

/// A fresh SQLite event store in a temporary directory.
pub struct EventStoreFixture {
    _scratch: orderflow_testkit::ScratchPath,
    pub store: Arc<SqliteEventStore>,
}

impl EventStoreFixture {
    pub async fn new() -> Self {
        let scratch = orderflow_testkit::ScratchPath::new("events.sqlite");
        let store = SqliteEventStore::open(scratch.path()).await.unwrap();
        EventStoreFixture {
            _scratch: scratch,
            store: Arc::new(store),
        }
    }
}
