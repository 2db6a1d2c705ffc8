//! The adapters under test, each able to open several instances on the same
//! storage (the same file, the same database), as separate processes would.

use std::sync::Arc;

use async_trait::async_trait;
use orderflow_app::ports::{CheckpointStore, EventStore};
use orderflow_store::postgres::PostgresOptions;
use orderflow_store::{PostgresEventStore, SqliteEventStore};
use orderflow_testkit::TestDatabase;

/// An event store and its checkpoints, as one handle.
pub trait StoreUnderTest: EventStore + CheckpointStore {}
impl<T: EventStore + CheckpointStore> StoreUnderTest for T {}

#[async_trait]
pub trait Backend: Send + Sync {
    /// Opens a new instance on this backend's storage.
    async fn open(&self) -> Arc<dyn StoreUnderTest>;
}

pub struct SqliteBackend {
    scratch: orderflow_testkit::ScratchPath,
}

impl SqliteBackend {
    pub async fn new() -> Self {
        SqliteBackend {
            scratch: orderflow_testkit::ScratchPath::new("events.sqlite"),
        }
    }
}

#[async_trait]
impl Backend for SqliteBackend {
    async fn open(&self) -> Arc<dyn StoreUnderTest> {
        Arc::new(SqliteEventStore::open(self.scratch.path()).await.unwrap())
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
    async fn open(&self) -> Arc<dyn StoreUnderTest> {
        let options = PostgresOptions {
            max_connections: 8,
            ..PostgresOptions::default()
        };
        Arc::new(
            PostgresEventStore::connect(self.database.url(), options)
                .await
                .unwrap(),
        )
    }
}
