//! The adapters under test, each able to open several instances on the same
//! storage (the same file, the same database), as separate processes or a
//! restart would.

use std::sync::Arc;

use async_trait::async_trait;
use orderflow_app::ports::OrderReadModel;
use orderflow_read_model::{PostgresReadModel, SqliteReadModel};
use orderflow_testkit::TestDatabase;

#[async_trait]
pub trait Backend: Send + Sync {
    /// Opens a new instance on this backend's storage.
    async fn open(&self) -> Arc<dyn OrderReadModel>;
}

/// A read model file in a temporary directory, removed with the backend.
pub struct SqliteBackend {
    scratch: orderflow_testkit::ScratchPath,
}

impl SqliteBackend {
    pub async fn new() -> Self {
        SqliteBackend {
            scratch: orderflow_testkit::ScratchPath::new("read-model.sqlite"),
        }
    }
}

#[async_trait]
impl Backend for SqliteBackend {
    async fn open(&self) -> Arc<dyn OrderReadModel> {
        Arc::new(SqliteReadModel::open(self.scratch.path()).await.unwrap())
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
    async fn open(&self) -> Arc<dyn OrderReadModel> {
        Arc::new(
            PostgresReadModel::connect(self.database.url())
                .await
                .unwrap(),
        )
    }
}
