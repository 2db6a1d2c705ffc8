//! The search index adapters under test, and the event store the projection
//! tests read from.

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use orderflow_app::ports::SearchIndex;
use orderflow_search::{PostgresSearchIndex, TantivySearchIndex};
use orderflow_store::SqliteEventStore;
use sqlx::{Connection, Executor, PgConnection};

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
    admin_url: String,
    database: String,
    url: String,
}

impl PostgresBackend {
    pub async fn new() -> Self {
        let admin_url = std::env::var("ORDERFLOW_TEST_DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let mut admin = PgConnection::connect(&admin_url)
            .await
            .unwrap_or_else(|error| {
                panic!(
                    "PostgreSQL is required for these tests and is not reachable at {admin_url}: \
                     {error}. Start it (scripts/test does) or set ORDERFLOW_TEST_DATABASE_URL."
                )
            });
        let database = format!("orderflow_search_test_{}", uuid::Uuid::new_v4().simple());
        let create = format!("CREATE DATABASE {database}");
        admin.execute(sqlx::AssertSqlSafe(create)).await.unwrap();
        let (base, _) = admin_url.rsplit_once('/').unwrap();
        let url = format!("{base}/{database}");
        PostgresBackend {
            admin_url,
            database,
            url,
        }
    }
}

impl Drop for PostgresBackend {
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let statement = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.database);
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                let mut admin = PgConnection::connect(&admin_url).await?;
                admin.execute(sqlx::AssertSqlSafe(statement)).await?;
                Ok::<(), sqlx::Error>(())
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("could not drop test database {}", self.database);
        }
    }
}

#[async_trait]
impl Backend for PostgresBackend {
    async fn open(&self) -> Arc<dyn SearchIndex> {
        Arc::new(PostgresSearchIndex::connect(&self.url, 4).await.unwrap())
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
