//! The search index adapters under test, and the event store the projection
//! tests read from.

use std::sync::Arc;

use async_trait::async_trait;
use orderflow_app::ports::SearchIndex;
use orderflow_search::{PostgresSearchIndex, TantivySearchIndex};
use orderflow_store::SqliteEventStore;
use orderflow_testkit::TestDatabase;

#[async_trait]
pub trait Backend: Send + Sync {
    /// Opens the index on this backend's storage. Tantivy allows one open
    /// instance per directory: drop the previous one before reopening.
    async fn open(&self) -> Arc<dyn SearchIndex>;
}

pub struct TantivyBackend {
    scratch: orderflow_testkit::ScratchPath,
}

impl TantivyBackend {
    pub async fn new() -> Self {
        TantivyBackend {
            scratch: orderflow_testkit::ScratchPath::new("search"),
        }
    }
}

#[async_trait]
impl Backend for TantivyBackend {
    async fn open(&self) -> Arc<dyn SearchIndex> {
        let path = self.scratch.path().to_owned();
        let index = tokio::task::spawn_blocking(move || TantivySearchIndex::open(&path))
            .await
            .unwrap()
            .unwrap();
        Arc::new(index)
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
}

#[async_trait]
impl Backend for PostgresBackend {
    async fn open(&self) -> Arc<dyn SearchIndex> {
        Arc::new(
            PostgresSearchIndex::connect(self.database.url(), 4)
                .await
                .unwrap(),
        )
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
