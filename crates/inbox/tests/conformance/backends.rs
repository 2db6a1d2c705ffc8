//! The adapters under test, each able to open several instances on the same storage (the
//! same file, the same database), as hub instances or a restart would, all reading one
//! test clock.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use orderflow_app::ports::{Clock, InboxBounds, PushInbox};
use orderflow_inbox::{PostgresInbox, SharedClock, SqliteInbox};
use orderflow_testkit::TestDatabase;
use time::OffsetDateTime;

/// A clock the test moves.
#[derive(Debug)]
pub struct TestClock(Mutex<OffsetDateTime>);

impl TestClock {
    pub fn advance(&self, by: time::Duration) {
        let mut now = self.0.lock().unwrap();
        *now += by;
    }
}

impl Clock for TestClock {
    fn now(&self) -> OffsetDateTime {
        *self.0.lock().unwrap()
    }
}

#[async_trait]
pub trait Backend: Send + Sync {
    /// Opens a new instance on this backend's storage.
    async fn open_with(&self, bounds: InboxBounds) -> Arc<dyn PushInbox>;

    /// The clock every instance reads.
    fn clock(&self) -> &TestClock;

    async fn open(&self) -> Arc<dyn PushInbox> {
        self.open_with(InboxBounds::default()).await
    }
}

fn shared(clock: &Arc<TestClock>) -> SharedClock {
    SharedClock(clock.clone())
}

fn test_clock() -> Arc<TestClock> {
    Arc::new(TestClock(Mutex::new(crate::suite::T0)))
}

/// An inbox file in a temporary directory, removed with the backend.
pub struct SqliteBackend {
    scratch: orderflow_testkit::ScratchPath,
    clock: Arc<TestClock>,
}

impl SqliteBackend {
    pub async fn new() -> Self {
        SqliteBackend {
            scratch: orderflow_testkit::ScratchPath::new("inbox.sqlite"),
            clock: test_clock(),
        }
    }
}

#[async_trait]
impl Backend for SqliteBackend {
    async fn open_with(&self, bounds: InboxBounds) -> Arc<dyn PushInbox> {
        Arc::new(
            SqliteInbox::open(self.scratch.path(), bounds, shared(&self.clock))
                .await
                .unwrap(),
        )
    }

    fn clock(&self) -> &TestClock {
        &self.clock
    }
}

/// A database of its own on the test server, dropped with the backend.
pub struct PostgresBackend {
    database: TestDatabase,
    clock: Arc<TestClock>,
}

impl PostgresBackend {
    pub async fn new() -> Self {
        PostgresBackend {
            database: TestDatabase::create().await,
            clock: test_clock(),
        }
    }
}

#[async_trait]
impl Backend for PostgresBackend {
    async fn open_with(&self, bounds: InboxBounds) -> Arc<dyn PushInbox> {
        Arc::new(
            PostgresInbox::connect(self.database.url(), bounds, shared(&self.clock))
                .await
                .unwrap(),
        )
    }

    fn clock(&self) -> &TestClock {
        &self.clock
    }
}
