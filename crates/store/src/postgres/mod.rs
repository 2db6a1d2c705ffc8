//! The server-mode event store on PostgreSQL, shared by any number of
//! stateless orderflow instances.
//!
//! # Global order without skips
//!
//! A `bigserial` position is not enough for readers that follow the head:
//! transaction A takes position 10, transaction B takes 11, B commits first,
//! a reader sees 11 and moves its checkpoint past 10, A commits — and the
//! reader never sees event 10.
//!
//! Here positions come from a one-row counter (`es_global_position`). Taking
//! it is the **last** write of every appending transaction, and PostgreSQL
//! holds that row lock until the transaction is over. So a second transaction
//! can take positions only after the first has committed (and become visible)
//! or rolled back (and given its positions back). Positions are therefore
//! assigned in commit order and without gaps, and a reader that has seen
//! position `p` has seen everything at or below `p`. Readers stay simple:
//! `WHERE position > $checkpoint ORDER BY position`.
//!
//! The cost: appending transactions serialise from the moment they take the
//! counter to their commit (the events insert plus the commit's WAL flush).
//! Group commit pays it once per batch, not per order — see
//! `docs/BENCHMARKS.md` for what that costs in throughput. Everything before
//! the counter (revision checks, stream locks) runs concurrently. The
//! alternatives were weighed in `ARCHITECTURE.md`; the transaction-id horizon
//! (`xid8` + `pg_snapshot_xmin`) was rejected because any long transaction in
//! the database, even one unrelated to orderflow, stalls every subscriber,
//! and because its position is a pair rather than one number users can hold.
//!
//! # Group commit and concurrency
//!
//! Appends are queued; a few writer tasks each take everything queued and
//! write it in one transaction ([`crate::batch`] plans it). Stream rows are
//! locked `FOR UPDATE` in name order; a stream created concurrently by another
//! instance, a deadlock or a duplicate id race aborts the transaction, and the
//! batch is planned again from scratch.

pub mod lease;
mod rows;
mod writer;

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use orderflow_app::ports::{
    AppendOutcome, CheckpointStore, EventStore, EventStoreError, ExpectedRevision, NewEvent,
    Position, RecordedEvent, StreamName,
};
use sqlx::postgres::{PgConnectOptions, PgListener, PgPool, PgPoolOptions};
use tokio::sync::{mpsc, oneshot, watch};

use crate::batch::{self, AppendRequest};
use rows::{event_columns, recorded_event};

/// The LISTEN/NOTIFY channel carrying the new head position after commits.
const NOTIFY_CHANNEL: &str = "orderflow_events";

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// How the PostgreSQL event store connects and writes.
#[derive(Debug, Clone)]
pub struct PostgresOptions {
    /// Pool size shared by readers and writers.
    pub max_connections: u32,
    /// Concurrent group-commit writers of this instance.
    pub writers: usize,
    /// Most appends written in one transaction.
    pub max_batch: usize,
}

impl Default for PostgresOptions {
    fn default() -> Self {
        PostgresOptions {
            max_connections: 16,
            writers: 4,
            max_batch: 256,
        }
    }
}

/// Event store on PostgreSQL. Cheap to clone.
#[derive(Debug, Clone)]
pub struct PostgresEventStore {
    pool: PgPool,
    writer: mpsc::Sender<AppendRequest>,
    head: watch::Receiver<Position>,
}

/// Why the store could not start.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("invalid database url: {0}")]
    Url(sqlx::Error),
    #[error("cannot connect to PostgreSQL: {0}")]
    Connect(sqlx::Error),
    #[error("cannot migrate the event store schema: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl PostgresEventStore {
    /// Connects to `url`, runs the migrations and starts the writers and
    /// the notification listener.
    pub async fn connect(url: &str, options: PostgresOptions) -> Result<Self, ConnectError> {
        let connect_options = PgConnectOptions::from_str(url).map_err(ConnectError::Url)?;
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(connect_options)
            .await
            .map_err(ConnectError::Connect)?;
        MIGRATOR.run(&pool).await?;
        let head_position = read_head(&pool).await.map_err(ConnectError::Connect)?;
        let (head_sender, head) = watch::channel(head_position);
        let writer = writer::spawn(pool.clone(), &options);
        tokio::spawn(follow_notifications(pool.clone(), head_sender));
        Ok(PostgresEventStore { pool, writer, head })
    }

    /// The connection pool, for adapters that share the database.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

pub(crate) fn unavailable(error: impl Into<orderflow_app::error::Cause>) -> EventStoreError {
    EventStoreError::Unavailable(error.into())
}

fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

async fn read_head(pool: &PgPool) -> Result<Position, sqlx::Error> {
    let last: i64 = sqlx::query_scalar("SELECT last FROM es_global_position")
        .fetch_one(pool)
        .await?;
    Ok(Position::new(u64::try_from(last).unwrap_or(0)))
}

/// Turns NOTIFYs into head updates until every receiver is gone. While the
/// listening connection is down, readers fall back to polling; after it
/// reconnects, they are woken once in case they missed something.
async fn follow_notifications(pool: PgPool, head: watch::Sender<Position>) {
    let mut backoff = Duration::from_millis(100);
    loop {
        let listener = async {
            let mut listener = PgListener::connect_with(&pool).await?;
            listener.listen(NOTIFY_CHANNEL).await?;
            Ok::<_, sqlx::Error>(listener)
        };
        let mut listener = tokio::select! {
            () = head.closed() => return,
            listener = listener => match listener {
                Ok(listener) => listener,
                Err(error) => {
                    tracing::warn!(%error, "cannot listen for event notifications, retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                    continue;
                }
            },
        };
        backoff = Duration::from_millis(100);
        head.send_modify(|_| {});
        loop {
            let notification = tokio::select! {
                () = head.closed() => return,
                notification = listener.try_recv() => notification,
            };
            match notification {
                Ok(Some(notification)) => {
                    if let Ok(position) = notification.payload().parse::<u64>() {
                        head.send_if_modified(|current| {
                            let moved = position > current.value();
                            if moved {
                                *current = Position::new(position);
                            }
                            moved
                        });
                    }
                }
                Ok(None) => {
                    // The connection was lost; notifications may be missing.
                    head.send_modify(|_| {});
                }
                Err(error) => {
                    tracing::warn!(%error, "event notification listener failed, reconnecting");
                    break;
                }
            }
        }
    }
}

#[async_trait]
impl EventStore for PostgresEventStore {
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
        let stopped = || EventStoreError::Unavailable("the PostgreSQL writers have stopped".into());
        self.writer
            .send(AppendRequest {
                stream: stream.clone(),
                expected,
                events,
                reply,
            })
            .await
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }

    async fn read_stream(
        &self,
        stream: &StreamName,
        from_revision: u64,
        max_count: usize,
    ) -> Result<Vec<RecordedEvent>, EventStoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            event_columns!(),
            " FROM es_events WHERE stream = $1 AND revision >= $2 ORDER BY revision LIMIT $3"
        ))
        .bind(stream.as_str())
        .bind(to_i64(from_revision))
        .bind(to_i64(max_count as u64))
        .fetch_all(&self.pool)
        .await
        .map_err(unavailable)?;
        rows.iter().map(recorded_event).collect()
    }

    async fn read_all(
        &self,
        after: Position,
        max_count: usize,
    ) -> Result<Vec<RecordedEvent>, EventStoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            event_columns!(),
            " FROM es_events WHERE position > $1 ORDER BY position LIMIT $2"
        ))
        .bind(to_i64(after.value()))
        .bind(to_i64(max_count as u64))
        .fetch_all(&self.pool)
        .await
        .map_err(unavailable)?;
        rows.iter().map(recorded_event).collect()
    }

    async fn head(&self) -> Result<Position, EventStoreError> {
        read_head(&self.pool).await.map_err(unavailable)
    }

    fn watch_head(&self) -> watch::Receiver<Position> {
        self.head.clone()
    }
}

#[async_trait]
impl CheckpointStore for PostgresEventStore {
    async fn load_checkpoint(&self, subscription: &str) -> Result<Position, EventStoreError> {
        let position: Option<i64> =
            sqlx::query_scalar("SELECT position FROM es_checkpoints WHERE name = $1")
                .bind(subscription)
                .fetch_optional(&self.pool)
                .await
                .map_err(unavailable)?;
        Ok(position.map_or(Position::START, |p| {
            Position::new(u64::try_from(p).unwrap_or(0))
        }))
    }

    async fn save_checkpoint(
        &self,
        subscription: &str,
        position: Position,
    ) -> Result<(), EventStoreError> {
        sqlx::query(
            "INSERT INTO es_checkpoints (name, position) VALUES ($1, $2) \
             ON CONFLICT (name) DO UPDATE SET position = excluded.position, updated_at = now()",
        )
        .bind(subscription)
        .bind(to_i64(position.value()))
        .execute(&self.pool)
        .await
        .map_err(unavailable)?;
        Ok(())
    }
}
