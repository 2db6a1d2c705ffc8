//! Test support shared by orderflow's suites (a dev-dependency only).
//!
//! [`TestDatabase`] gives a test a PostgreSQL database of its own, created on
//! the server named by `ORDERFLOW_TEST_DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`) and dropped when the value
//! is dropped. A server that cannot be reached makes the test panic with
//! instructions: these tests fail loudly, they never skip. Databases left by
//! an interrupted run all start with [`DATABASE_PREFIX`]; `scripts/test`
//! drops them before each run.

use sqlx::{Connection, Executor, PgConnection};

/// Every test database's name starts with this.
pub const DATABASE_PREFIX: &str = "orderflow_test_";

/// The admin URL tests create their databases through.
pub fn admin_url() -> String {
    std::env::var("ORDERFLOW_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A fresh database, dropped (with its connections) on drop.
#[derive(Debug)]
pub struct TestDatabase {
    admin_url: String,
    name: String,
    url: String,
}

impl TestDatabase {
    /// Creates the database; panics with instructions if PostgreSQL is down.
    pub async fn create() -> Self {
        let admin_url = admin_url();
        let mut admin = connect_or_explain(&admin_url).await;
        let name = format!("{DATABASE_PREFIX}{}", uuid::Uuid::new_v4().simple());
        admin
            .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .await
            .unwrap_or_else(|error| panic!("cannot create test database {name}: {error}"));
        let base = admin_url
            .rsplit_once('/')
            .map_or(admin_url.as_str(), |(base, _)| base);
        let url = format!("{base}/{name}");
        TestDatabase {
            admin_url,
            name,
            url,
        }
    }

    /// The URL of this test's database.
    pub fn url(&self) -> &str {
        &self.url
    }
}

async fn connect_or_explain(admin_url: &str) -> PgConnection {
    PgConnection::connect(admin_url)
        .await
        .unwrap_or_else(|error| {
            panic!(
                "PostgreSQL is required for these tests and is not reachable at {admin_url}: \
             {error}. Start it (scripts/test does) or set ORDERFLOW_TEST_DATABASE_URL."
            )
        })
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let statement = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        // Drop may run inside a runtime; a thread of its own can block.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async {
                let mut admin = PgConnection::connect(&admin_url).await?;
                admin.execute(sqlx::AssertSqlSafe(statement)).await?;
                Ok::<(), Box<dyn std::error::Error + Send + Sync>>(())
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!(
                "could not drop test database {} (scripts/test drops leftovers)",
                self.name
            );
        }
    }
}

pub mod console_browser;
pub mod cutting_proxy;
pub mod openapi;
pub mod python;
pub mod signalr;

pub mod events;
pub mod local_metrics;

mod scratch;
pub use scratch::ScratchPath;
