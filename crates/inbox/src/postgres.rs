//! The server-mode inbox: one PostgreSQL table, `push_inbox`, shared by every hub instance.
//!
//! * **The port's rules are in the SQL**, so any number of instances recording the same
//!   pushes agree: one `INSERT … SELECT … FROM unnest(…) WITH ORDINALITY ORDER BY ordinality
//!   ON CONFLICT (user_id, message_id) DO NOTHING` per `record` (identity values are taken
//!   in the slice's order; an instance that meets a row another is inserting waits for that
//!   transaction, so a later push always gets a later `seq`), then the count bound per user,
//!   in the same transaction.
//! * **Durable**: a call returns after its commit.
//! * **Migrations** (`migrations/postgres/`) are tracked in `_orderflow_inbox_migrations`.
//! * **Errors**: a lost connection, a timeout, a serialization failure or deadlock, or the
//!   server shutting down is `Unavailable` (retry); anything else is `Internal`.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use orderflow_app::ports::{
    InboxBounds, InboxEntry, InboxError, InboxPush, PRUNE_CHUNK_ROWS, Pruned, PushInbox, Recorded,
};
use sqlx::Row;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::OpenError;
use crate::stored::{ACKNOWLEDGED, DROPPED, PENDING, SharedClock, distinct};

/// The table that records which inbox migrations ran.
const MIGRATIONS_TABLE: &str = "_orderflow_inbox_migrations";

/// Pool size of [`PostgresInbox::connect`].
pub const DEFAULT_MAX_CONNECTIONS: u32 = 8;

const RECORD: &str = "\
INSERT INTO push_inbox (user_id, message_id, argument, recorded_at)
SELECT user_id, message_id, argument, $4
FROM unnest($1::text[], $2::uuid[], $3::text[]) WITH ORDINALITY AS p(user_id, message_id, argument, n)
ORDER BY n
ON CONFLICT (user_id, message_id) DO NOTHING";

/// Drops each user's pending entries older than their `$2` newest.
const DROP_OVER_COUNT: &str = "\
UPDATE push_inbox AS e SET state = $3
FROM unnest($1::text[]) AS u(user_id)
WHERE e.user_id = u.user_id AND e.state = 0 AND e.seq <= (
    SELECT seq FROM push_inbox
    WHERE user_id = u.user_id AND state = 0
    ORDER BY seq DESC LIMIT 1 OFFSET $2)";

/// The PostgreSQL adapter of [`PushInbox`]. Cheap to clone.
#[derive(Debug, Clone)]
pub struct PostgresInbox {
    pool: PgPool,
    bounds: InboxBounds,
    clock: SharedClock,
}

impl PostgresInbox {
    /// Uses `pool` after running the inbox's migrations.
    pub async fn from_pool(
        pool: PgPool,
        bounds: InboxBounds,
        clock: SharedClock,
    ) -> Result<Self, OpenError> {
        let mut migrator = sqlx::migrate!("./migrations/postgres");
        migrator.dangerous_set_table_name(MIGRATIONS_TABLE);
        migrator.run(&pool).await?;
        Ok(PostgresInbox {
            pool,
            bounds,
            clock,
        })
    }

    /// Connects to `url` with a pool of its own ([`DEFAULT_MAX_CONNECTIONS`]), then
    /// migrates.
    pub async fn connect(
        url: &str,
        bounds: InboxBounds,
        clock: SharedClock,
    ) -> Result<Self, OpenError> {
        let options = PgConnectOptions::from_str(url).map_err(OpenError::Url)?;
        let pool = PgPoolOptions::new()
            .max_connections(DEFAULT_MAX_CONNECTIONS)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options)
            .await
            .map_err(OpenError::Connect)?;
        Self::from_pool(pool, bounds, clock).await
    }
}

/// A PostgreSQL error as the port reports it (SQLSTATE classes 08, 40, 53, 57 and
/// connection failures may pass).
fn port_error(error: sqlx::Error) -> InboxError {
    let transient = match &error {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::BeginFailed => true,
        sqlx::Error::Database(database) => database
            .code()
            .is_some_and(|code| ["08", "40", "53", "57"].iter().any(|c| code.starts_with(c))),
        _ => false,
    };
    if transient {
        InboxError::Unavailable(format!("postgres: {error}"))
    } else {
        InboxError::Internal(format!("postgres: {error}"))
    }
}

#[async_trait]
impl PushInbox for PostgresInbox {
    fn bounds(&self) -> InboxBounds {
        self.bounds
    }

    async fn record(&self, pushes: &[InboxPush]) -> Result<Recorded, InboxError> {
        let (mut users, mut ids, mut arguments) = (Vec::new(), Vec::new(), Vec::new());
        for push in pushes {
            for user in distinct(&push.user_ids) {
                users.push(user.to_owned());
                ids.push(push.message_id);
                arguments.push(push.argument.clone());
            }
        }
        if users.is_empty() {
            return Ok(Recorded::default());
        }
        let affected: Vec<String> = distinct(&users).into_iter().map(str::to_owned).collect();
        let mut transaction = self.pool.begin().await.map_err(port_error)?;
        sqlx::query(RECORD)
            .bind(&users)
            .bind(&ids)
            .bind(&arguments)
            .bind(self.clock.now())
            .execute(&mut *transaction)
            .await
            .map_err(port_error)?;
        let dropped = sqlx::query(DROP_OVER_COUNT)
            .bind(&affected)
            .bind(i64::from(self.bounds.max_per_user))
            .bind(DROPPED)
            .execute(&mut *transaction)
            .await
            .map_err(port_error)?
            .rows_affected();
        transaction.commit().await.map_err(port_error)?;
        Ok(Recorded {
            dropped_by_count: dropped,
        })
    }

    async fn pending(&self, user_id: &str, limit: u32) -> Result<Vec<InboxEntry>, InboxError> {
        let rows = sqlx::query(
            "SELECT message_id, argument, recorded_at FROM push_inbox
             WHERE user_id = $1 AND state = 0 AND recorded_at > $2
             ORDER BY seq LIMIT $3",
        )
        .bind(user_id)
        .bind(self.clock.age_cutoff(&self.bounds))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(port_error)?;
        rows.into_iter()
            .map(|row| {
                Ok(InboxEntry {
                    message_id: row.try_get::<Uuid, _>(0).map_err(port_error)?,
                    argument: row.try_get::<String, _>(1).map_err(port_error)?,
                    recorded_at: row.try_get::<OffsetDateTime, _>(2).map_err(port_error)?,
                })
            })
            .collect()
    }

    async fn acknowledge(&self, user_id: &str, message_ids: &[Uuid]) -> Result<(), InboxError> {
        if message_ids.is_empty() {
            return Ok(());
        }
        sqlx::query(
            "UPDATE push_inbox SET state = $3
             WHERE user_id = $1 AND message_id = ANY($2) AND state = 0",
        )
        .bind(user_id)
        .bind(message_ids)
        .bind(ACKNOWLEDGED)
        .execute(&self.pool)
        .await
        .map_err(port_error)?;
        Ok(())
    }

    async fn depth(&self) -> Result<u64, InboxError> {
        let row =
            sqlx::query("SELECT count(*) FROM push_inbox WHERE state = 0 AND recorded_at > $1")
                .bind(self.clock.age_cutoff(&self.bounds))
                .fetch_one(&self.pool)
                .await
                .map_err(port_error)?;
        let depth: i64 = row.try_get(0).map_err(port_error)?;
        Ok(u64::try_from(depth).unwrap_or(0))
    }

    async fn prune(&self) -> Result<Pruned, InboxError> {
        let cutoff = self.clock.age_cutoff(&self.bounds);
        let mut dropped_by_age = 0;
        loop {
            let row = sqlx::query(
                "WITH deleted AS (
                     DELETE FROM push_inbox WHERE seq IN (
                         SELECT seq FROM push_inbox WHERE recorded_at <= $1 LIMIT $3)
                     RETURNING state)
                 SELECT count(*), count(*) FILTER (WHERE state = $2) FROM deleted",
            )
            .bind(cutoff)
            .bind(PENDING)
            .bind(i64::from(PRUNE_CHUNK_ROWS))
            .fetch_one(&self.pool)
            .await
            .map_err(port_error)?;
            let deleted: i64 = row.try_get(0).map_err(port_error)?;
            let pending: i64 = row.try_get(1).map_err(port_error)?;
            dropped_by_age += u64::try_from(pending).unwrap_or(0);
            if deleted < i64::from(PRUNE_CHUNK_ROWS) {
                return Ok(Pruned { dropped_by_age });
            }
        }
    }
}
