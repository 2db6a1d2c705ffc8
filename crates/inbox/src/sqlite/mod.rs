//! The embedded inbox: one SQLite file in WAL mode.
//!
//! * **Writes** (record, acknowledge, prune) go through one writer thread doing group
//!   commit ([`writer`]); a commit that records pushes is fsynced (`synchronous = FULL`),
//!   so once `record` returns the hub may acknowledge the broker; one of acknowledgements and
//!   prunes only is not waited for (the next fsync makes it durable; see [`writer`]).
//! * **The port's rules are in the SQL**: `INSERT … ON CONFLICT (user_id, message_id) DO
//!   NOTHING` makes recording idempotent whatever the entry's state; the count bound marks
//!   the oldest pending entries beyond it `dropped`; acknowledging moves `pending` to
//!   `acknowledged` and nothing back.
//! * **Reads** run on `orderflow-sqlite`'s pool of read-only connections on Tokio's blocking
//!   threads; a read started after a write returned sees it.
//! * **Schema** versions are tracked in a table of the inbox's own ([`schema`]).

mod schema;
mod writer;

/// A user's pending entries, oldest first. `state = 0` is
/// [`PENDING`](crate::stored::PENDING) written out, so the partial index `push_inbox_pending`
/// serves it (see `writer::DROP_OVER_COUNT`).
const PENDING_OF_USER: &str = "\
SELECT message_id, argument, recorded_at FROM push_inbox
WHERE user_id = ?1 AND state = 0 AND recorded_at > ?2
ORDER BY seq LIMIT ?3";

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use orderflow_app::ports::{
    InboxBounds, InboxEntry, InboxError, InboxPush, PRUNE_CHUNK_ROWS, Pruned, PushInbox, Recorded,
};
use orderflow_sqlite::{ReadPool, ReadPoolError};
use rusqlite::params;
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use crate::error::OpenError;
use crate::stored::{SharedClock, from_micros, micros};
use writer::{Command, Outcome, Write};

/// The inbox on one SQLite file. Cheap to clone; all clones share the writer thread, which
/// stops when the last clone is dropped.
#[derive(Debug, Clone)]
pub struct SqliteInbox {
    writer: mpsc::Sender<Command>,
    readers: Arc<ReadPool>,
    bounds: InboxBounds,
    clock: SharedClock,
}

impl SqliteInbox {
    /// Opens (or creates) the inbox file at `path`, brings its schema up to date and starts
    /// its writer thread.
    pub async fn open(
        path: impl AsRef<Path>,
        bounds: InboxBounds,
        clock: SharedClock,
    ) -> Result<Self, OpenError> {
        let path = path.as_ref().to_path_buf();
        let opening = path.clone();
        let connection = tokio::task::spawn_blocking(move || schema::open_writer(&opening))
            .await
            .map_err(|join| OpenError::Thread(std::io::Error::other(join)))??;
        let writer = writer::spawn(connection).map_err(OpenError::Thread)?;
        Ok(SqliteInbox {
            writer,
            readers: Arc::new(ReadPool::new(path)),
            bounds,
            clock,
        })
    }

    async fn write(&self, write: Write) -> Result<Outcome, InboxError> {
        let stopped = || InboxError::Unavailable("the SQLite inbox writer has stopped".into());
        let (reply, answer) = oneshot::channel();
        self.writer
            .send(Command { write, reply })
            .await
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

/// A SQLite error as the port reports it: busy, locked, I/O or memory failures may pass.
pub(crate) fn port_error(error: &rusqlite::Error) -> InboxError {
    if orderflow_sqlite::is_transient(error) {
        InboxError::Unavailable(format!("sqlite: {error}"))
    } else {
        InboxError::Internal(format!("sqlite: {error}"))
    }
}

fn unexpected(outcome: &Outcome) -> InboxError {
    InboxError::Internal(format!("the inbox writer answered {outcome:?}"))
}

#[async_trait]
impl PushInbox for SqliteInbox {
    fn bounds(&self) -> InboxBounds {
        self.bounds
    }

    async fn record(&self, pushes: &[InboxPush]) -> Result<Recorded, InboxError> {
        let write = Write::Record {
            pushes: pushes.to_vec(),
            recorded_at: micros(self.clock.now()),
            max_per_user: self.bounds.max_per_user,
        };
        match self.write(write).await? {
            Outcome::Recorded(recorded) => Ok(recorded),
            other => Err(unexpected(&other)),
        }
    }

    async fn pending(&self, user_id: &str, limit: u32) -> Result<Vec<InboxEntry>, InboxError> {
        let user_id = user_id.to_owned();
        let cutoff = micros(self.clock.age_cutoff(&self.bounds));
        let read = self
            .readers
            .read(move |connection| {
                let mut statement = connection.prepare_cached(PENDING_OF_USER)?;
                let rows = statement.query_map(params![user_id, cutoff, limit], |row| {
                    Ok((
                        row.get::<_, Vec<u8>>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, i64>(2)?,
                    ))
                })?;
                rows.collect::<rusqlite::Result<Vec<_>>>()
            })
            .await;
        let rows = match read {
            Ok(Ok(rows)) => rows,
            Ok(Err(error)) | Err(ReadPoolError::Connect(error)) => return Err(port_error(&error)),
            Err(error @ ReadPoolError::Task(_)) => {
                return Err(InboxError::Unavailable(error.to_string()));
            }
        };
        rows.into_iter()
            .map(|(id, argument, recorded_at)| {
                let message_id = Uuid::from_slice(&id)
                    .map_err(|error| InboxError::Internal(format!("stored message id: {error}")))?;
                Ok(InboxEntry {
                    message_id,
                    argument,
                    recorded_at: from_micros(recorded_at)?,
                })
            })
            .collect()
    }

    async fn depth(&self) -> Result<u64, InboxError> {
        let cutoff = micros(self.clock.age_cutoff(&self.bounds));
        let read = self
            .readers
            .read(move |connection| {
                connection
                    .prepare_cached(
                        "SELECT count(*) FROM push_inbox WHERE state = 0 AND recorded_at > ?1",
                    )?
                    .query_row(params![cutoff], |row| row.get::<_, i64>(0))
            })
            .await;
        match read {
            Ok(Ok(depth)) => Ok(u64::try_from(depth).unwrap_or(0)),
            Ok(Err(error)) | Err(ReadPoolError::Connect(error)) => Err(port_error(&error)),
            Err(error @ ReadPoolError::Task(_)) => Err(InboxError::Unavailable(error.to_string())),
        }
    }

    async fn acknowledge(&self, user_id: &str, message_ids: &[Uuid]) -> Result<(), InboxError> {
        if message_ids.is_empty() {
            return Ok(());
        }
        let write = Write::Acknowledge {
            user_id: user_id.to_owned(),
            message_ids: message_ids.to_vec(),
        };
        match self.write(write).await? {
            Outcome::Acknowledged => Ok(()),
            other => Err(unexpected(&other)),
        }
    }

    async fn prune(&self) -> Result<Pruned, InboxError> {
        let cutoff = micros(self.clock.age_cutoff(&self.bounds));
        let mut dropped_by_age = 0;
        loop {
            let limit = PRUNE_CHUNK_ROWS;
            match self.write(Write::Prune { cutoff, limit }).await? {
                Outcome::Pruned(pruned) => {
                    dropped_by_age += pruned.dropped_by_age;
                    if pruned.deleted < u64::from(limit) {
                        return Ok(Pruned { dropped_by_age });
                    }
                }
                other => return Err(unexpected(&other)),
            }
        }
    }
}

#[cfg(test)]
mod plan_tests {
    //! The statements that run per push or per connection read through the partial index of
    //! pending entries: one that scanned the user's whole history would slow every push down
    //! as the inbox grows.

    use super::{PENDING_OF_USER, schema, writer};

    fn plan(connection: &rusqlite::Connection, sql: &str) -> String {
        let mut statement = connection
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .unwrap();
        // The plan does not depend on the values: bind NULL to each parameter.
        let nulls = vec![rusqlite::types::Null; statement.parameter_count()];
        let details = statement
            .query_map(rusqlite::params_from_iter(nulls), |row| {
                row.get::<_, String>(3)
            })
            .unwrap()
            .collect::<rusqlite::Result<Vec<_>>>()
            .unwrap();
        details.join("; ")
    }

    #[test]
    fn the_count_bound_and_the_replay_read_use_the_pending_index() {
        let dir = tempfile::tempdir().unwrap();
        let connection = schema::open_writer(&dir.path().join("inbox.sqlite")).unwrap();
        for sql in [writer::DROP_OVER_COUNT, PENDING_OF_USER] {
            let plan = plan(&connection, sql);
            assert!(
                !plan.contains("SCAN push_inbox") && plan.contains("push_inbox_pending"),
                "{sql}\n→ {plan}"
            );
        }
    }

    #[test]
    fn the_pending_state_is_the_one_the_partial_index_names() {
        assert_eq!(
            crate::stored::PENDING,
            0,
            "the SQL and the indexes say `state = 0`"
        );
    }
}
