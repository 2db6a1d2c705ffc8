//! The embedded event store: one SQLite file in WAL mode.
//!
//! * Writes go through one writer thread doing group commit
//!   ([`writer`]); every commit is fsynced (`synchronous = FULL`), so an
//!   append that returned `Ok` survives a power cut.
//! * Positions are the table's integer primary key, assigned by the single
//!   writer in commit order: gap-free by construction.
//! * Reads run on a small pool of read connections on Tokio's blocking
//!   threads; WAL lets them read while the writer writes.
//! * The head notification is an in-process [`watch`] channel, sent after
//!   each durable commit.
//! * The newest committed events stay in memory ([`recent`]): a subscription that follows
//!   the head reads them from there, not from the file.

mod reader;
mod recent;
mod rows;
mod schema;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use orderflow_app::ports::{
    AppendOutcome, CheckpointStore, EventStore, EventStoreError, ExpectedRevision, NewEvent,
    Position, RecordedEvent, StreamName,
};
use rusqlite::Connection;
use tokio::sync::{mpsc, oneshot, watch};

use crate::batch::{self, AppendRequest};
use reader::ReaderPool;
use recent::RecentEvents;
pub use schema::SchemaError;
use writer::WriterCommand;

/// Event store on one SQLite file. Cheap to clone; all clones share the
/// writer thread, which stops when the last clone is dropped.
#[derive(Debug, Clone)]
pub struct SqliteEventStore {
    writer: mpsc::Sender<WriterCommand>,
    readers: Arc<ReaderPool>,
    recent: Arc<RecentEvents>,
    head: watch::Receiver<Position>,
}

/// Why the store could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("cannot open {path}: {source}")]
    Open {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("cannot prepare the schema of {path}: {source}")]
    Schema { path: PathBuf, source: SchemaError },
    #[error("cannot start the writer thread: {0}")]
    Thread(#[from] std::io::Error),
}

impl SqliteEventStore {
    /// Opens (or creates) the event store file at `path` and brings its schema
    /// up to date.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self, OpenError> {
        let path = path.as_ref().to_path_buf();
        let opened = tokio::task::spawn_blocking(move || open_writer(&path).map(|c| (c, path)))
            .await
            .map_err(|join| OpenError::Thread(std::io::Error::other(join)))?;
        let ((connection, head_position), path) = opened?;
        let (head_sender, head) = watch::channel(head_position);
        let recent = Arc::new(RecentEvents::new(recent::DEFAULT_CAPACITY));
        let writer = writer::spawn(connection, head_sender, Arc::clone(&recent))?;
        Ok(SqliteEventStore {
            writer,
            readers: Arc::new(ReaderPool::new(path)),
            recent,
            head,
        })
    }

    async fn send(&self, command: WriterCommand) -> Result<(), EventStoreError> {
        self.writer
            .send(command)
            .await
            .map_err(|_| EventStoreError::Unavailable("the SQLite writer has stopped".into()))
    }
}

fn open_writer(path: &Path) -> Result<(Connection, Position), OpenError> {
    let open_error = |source| OpenError::Open {
        path: path.to_path_buf(),
        source,
    };
    let mut connection = orderflow_sqlite::open_durable_writer(path).map_err(open_error)?;
    schema::migrate(&mut connection).map_err(|source| OpenError::Schema {
        path: path.to_path_buf(),
        source,
    })?;
    let head: u64 = connection
        .query_row("SELECT COALESCE(MAX(position), 0) FROM events", [], |row| {
            row.get(0)
        })
        .map_err(open_error)?;
    Ok((connection, Position::new(head)))
}

pub(crate) fn unavailable(error: impl Into<orderflow_app::error::Cause>) -> EventStoreError {
    EventStoreError::Unavailable(error.into())
}

#[async_trait]
impl EventStore for SqliteEventStore {
    // A refused append is the caller's (a lost race: 409); a failed write is logged by the writer.
    #[tracing::instrument(skip_all, fields(stream = %stream, events = events.len()), err(level = "debug"))]
    async fn append(
        &self,
        stream: &StreamName,
        expected: ExpectedRevision,
        events: Vec<NewEvent>,
    ) -> Result<AppendOutcome, EventStoreError> {
        batch::validate(&events)?;
        let (reply, answer) = oneshot::channel();
        self.send(WriterCommand::Append(AppendRequest {
            stream: stream.clone(),
            expected,
            events,
            reply,
        }))
        .await?;
        answer
            .await
            .map_err(|_| EventStoreError::Unavailable("the SQLite writer has stopped".into()))?
    }

    async fn read_stream(
        &self,
        stream: &StreamName,
        from_revision: u64,
        max_count: usize,
    ) -> Result<Vec<RecordedEvent>, EventStoreError> {
        self.readers
            .read_stream(stream.clone(), from_revision, max_count)
            .await
    }

    async fn read_all(
        &self,
        after: Position,
        max_count: usize,
    ) -> Result<Vec<RecordedEvent>, EventStoreError> {
        if let Some(events) = self.recent.read_after(after, max_count) {
            return Ok(events);
        }
        self.readers.read_all(after, max_count).await
    }

    async fn head(&self) -> Result<Position, EventStoreError> {
        self.readers.head().await
    }

    fn watch_head(&self) -> watch::Receiver<Position> {
        self.head.clone()
    }
}

#[async_trait]
impl CheckpointStore for SqliteEventStore {
    async fn load_checkpoint(&self, subscription: &str) -> Result<Position, EventStoreError> {
        self.readers.checkpoint(subscription.to_owned()).await
    }

    async fn save_checkpoint(
        &self,
        subscription: &str,
        position: Position,
    ) -> Result<(), EventStoreError> {
        let (reply, answer) = oneshot::channel();
        self.send(WriterCommand::SaveCheckpoint {
            name: subscription.to_owned(),
            position,
            reply,
        })
        .await?;
        answer
            .await
            .map_err(|_| EventStoreError::Unavailable("the SQLite writer has stopped".into()))?
    }
}

#[cfg(test)]
#[path = "recent_read_tests.rs"]
mod recent_read_tests;
