//! Read side of the SQLite event store: a small pool of read-only
//! connections used from Tokio's blocking threads.
//!
//! WAL mode gives each read a consistent snapshot of committed data; since
//! the single writer commits positions in order, a snapshot never has gaps.

use std::path::PathBuf;
use std::sync::Arc;

use orderflow_app::ports::{EventStoreError, Position, RecordedEvent, StreamName};
use orderflow_sqlite::ReadPool;
use rusqlite::{Connection, OptionalExtension};

use super::rows::{EVENT_COLUMNS, RowError, recorded_event};
use super::unavailable;

/// Read-only connections to the event store's file.
#[derive(Debug)]
pub(crate) struct ReaderPool {
    pool: Arc<ReadPool>,
}

impl ReaderPool {
    pub(crate) fn new(path: PathBuf) -> Self {
        ReaderPool {
            pool: Arc::new(ReadPool::new(path)),
        }
    }

    /// Runs `read` on a pooled connection, on a blocking thread.
    async fn with<T: Send + 'static>(
        self: &Arc<Self>,
        read: impl FnOnce(&Connection) -> Result<T, RowError> + Send + 'static,
    ) -> Result<T, EventStoreError> {
        self.pool
            .read(move |connection| read(connection).map_err(EventStoreError::from))
            .await
            .map_err(unavailable)?
    }

    pub(crate) async fn read_stream(
        self: &Arc<Self>,
        stream: StreamName,
        from_revision: u64,
        max_count: usize,
    ) -> Result<Vec<RecordedEvent>, EventStoreError> {
        self.with(move |connection| {
            let mut statement = connection.prepare_cached(&format!(
                "SELECT {EVENT_COLUMNS} FROM events WHERE stream = ?1 AND revision >= ?2 \
                 ORDER BY revision LIMIT ?3"
            ))?;
            let mut rows = statement.query(rusqlite::params![
                stream.as_str(),
                from_revision,
                limit(max_count)
            ])?;
            collect(&mut rows)
        })
        .await
    }

    pub(crate) async fn read_all(
        self: &Arc<Self>,
        after: Position,
        max_count: usize,
    ) -> Result<Vec<RecordedEvent>, EventStoreError> {
        self.with(move |connection| {
            let mut statement = connection.prepare_cached(&format!(
                "SELECT {EVENT_COLUMNS} FROM events WHERE position > ?1 ORDER BY position LIMIT ?2"
            ))?;
            let mut rows = statement.query(rusqlite::params![after.value(), limit(max_count)])?;
            collect(&mut rows)
        })
        .await
    }

    pub(crate) async fn head(self: &Arc<Self>) -> Result<Position, EventStoreError> {
        self.with(|connection| {
            let head: u64 = connection.query_row(
                "SELECT COALESCE(MAX(position), 0) FROM events",
                [],
                |row| row.get(0),
            )?;
            Ok(Position::new(head))
        })
        .await
    }

    pub(crate) async fn checkpoint(
        self: &Arc<Self>,
        name: String,
    ) -> Result<Position, EventStoreError> {
        self.with(move |connection| {
            let position: Option<u64> = connection
                .prepare_cached("SELECT position FROM checkpoints WHERE name = ?1")?
                .query_row([name], |row| row.get(0))
                .optional()?;
            Ok(position.map_or(Position::START, Position::new))
        })
        .await
    }
}

fn limit(max_count: usize) -> i64 {
    i64::try_from(max_count).unwrap_or(i64::MAX)
}

fn collect(rows: &mut rusqlite::Rows<'_>) -> Result<Vec<RecordedEvent>, RowError> {
    let mut events = Vec::new();
    while let Some(row) = rows.next()? {
        events.push(recorded_event(row)?);
    }
    Ok(events)
}
