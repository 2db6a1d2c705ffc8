//! The search index adapters under test, and the event store the projection
//! tests read from.

use std::path::PathBuf;
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
    _directory: tempfile::TempDir,
    path: PathBuf,
}

impl TantivyBackend {
    pub async fn new() -> Self {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("search");
        TantivyBackend {
            _directory: directory,
            path,
        }
    }
}

#[async_trait]
impl Backend for TantivyBackend {
    async fn open(&self) -> Arc<dyn SearchIndex> {
        let path = self.path.clone();
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
    _directory: tempfile::TempDir,
    pub store: Arc<SqliteEventStore>,
}

impl EventStoreFixture {
    pub async fn new() -> Self {
        let directory = tempfile::tempdir().unwrap();
        let store = SqliteEventStore::open(directory.path().join("events.sqlite"))
            .await
            .unwrap();
        EventStoreFixture {
            _directory: directory,
            store: Arc::new(store),
        }
    }
}
