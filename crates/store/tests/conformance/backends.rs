//! The adapters under test, each able to open several instances on the same
//! storage (the same file, the same database), as separate processes would.

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use orderflow_app::ports::{CheckpointStore, EventStore};
use orderflow_store::postgres::PostgresOptions;
use orderflow_store::{PostgresEventStore, SqliteEventStore};
use sqlx::{Connection, Executor, PgConnection};

/// An event store and its checkpoints, as one handle.
pub trait StoreUnderTest: EventStore + CheckpointStore {}
impl<T: EventStore + CheckpointStore> StoreUnderTest for T {}

#[async_trait]
pub trait Backend: Send + Sync {
    /// Opens a new instance on this backend's storage.
    async fn open(&self) -> Arc<dyn StoreUnderTest>;
}

pub struct SqliteBackend {
    _directory: tempfile::TempDir,
    path: PathBuf,
}

impl SqliteBackend {
    pub async fn new() -> Self {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("events.sqlite");
        SqliteBackend {
            _directory: directory,
            path,
        }
    }
}

#[async_trait]
impl Backend for SqliteBackend {
    async fn open(&self) -> Arc<dyn StoreUnderTest> {
        Arc::new(SqliteEventStore::open(&self.path).await.unwrap())
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
        let database = format!("orderflow_test_{}", uuid::Uuid::new_v4().simple());
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
    async fn open(&self) -> Arc<dyn StoreUnderTest> {
        let options = PostgresOptions {
            max_connections: 8,
            ..PostgresOptions::default()
        };
        Arc::new(
            PostgresEventStore::connect(&self.url, options)
                .await
                .unwrap(),
        )
    }
}
