//! The server-mode read model: one PostgreSQL table, `gateway_orders`,
//! shared by every stateless orderflow instance.
//!
//! * **The rules of the port are in the SQL**, so any number of instances
//!   consuming competing deliveries agree: `record_created` is an
//!   `INSERT … ON CONFLICT (id) DO UPDATE` of the details only, `WHERE
//!   stored.created_at IS NULL` (status, revision and `updated_at` are never
//!   touched); `record_status` upserts `WHERE stored.revision <
//!   EXCLUDED.revision`. Each is one statement, atomic on its own; concurrent
//!   upserts of one id are serialised by the primary key.
//! * **Durable**: a statement returns after its commit (the server's
//!   `synchronous_commit` decides how far that is flushed).
//! * **Time** is stored as `timestamptz`, already truncated to the
//!   microsecond by [`crate::stored`], the very instants the SQLite adapter
//!   keeps.
//! * **Migrations** (`migrations/postgres/`) are tracked in
//!   `_orderflow_read_model_migrations`, apart from the event store's and the
//!   search index's, so all can live in one database.
//! * **Errors**: a lost connection, a timeout or the server shutting down is
//!   `Unavailable` (retry); anything else is `Internal`.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use orderflow_app::ports::{
    CreatedOrder, GatewayOrder, OrderListPage, OrderListQuery, OrderReadModel, ReadModelError,
    StatusChange,
};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::{Postgres, QueryBuilder, Row};
use uuid::Uuid;

use crate::error::OpenError;
use crate::stored::{
    Boundary, PENDING, StoredOrder, changes_nothing, encode_items, page, page_limit,
    stored_revision, truncated,
};

/// The table that records which read model migrations ran.
const MIGRATIONS_TABLE: &str = "_orderflow_read_model_migrations";

/// Pool size of [`PostgresReadModel::connect`].
pub const DEFAULT_MAX_CONNECTIONS: u32 = 8;

/// Columns in the order [`stored_order`] reads them.
const COLUMNS: &str = "id, buyer_id, currency, items::text AS items, total, created_at, status, \
     cancellation_reason, revision, updated_at";

const RECORD_CREATED: &str = "\
INSERT INTO gateway_orders AS stored
    (id, buyer_id, currency, items, total, created_at, status, cancellation_reason, revision,
     updated_at)
VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7, NULL, 0, $6)
ON CONFLICT (id) DO UPDATE SET
    buyer_id = EXCLUDED.buyer_id,
    currency = EXCLUDED.currency,
    items = EXCLUDED.items,
    total = EXCLUDED.total,
    created_at = EXCLUDED.created_at
WHERE stored.created_at IS NULL";

const RECORD_STATUS: &str = "\
INSERT INTO gateway_orders AS stored (id, status, cancellation_reason, revision, updated_at)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (id) DO UPDATE SET
    status = EXCLUDED.status,
    cancellation_reason = EXCLUDED.cancellation_reason,
    revision = EXCLUDED.revision,
    updated_at = EXCLUDED.updated_at
WHERE stored.revision < EXCLUDED.revision";

/// The PostgreSQL adapter of [`OrderReadModel`]. Cheap to clone.
#[derive(Debug, Clone)]
pub struct PostgresReadModel {
    pool: PgPool,
}

impl PostgresReadModel {
    /// Uses `pool` (for instance the event store's) after running the read
    /// model's migrations.
    pub async fn from_pool(pool: PgPool) -> Result<Self, OpenError> {
        let mut migrator = sqlx::migrate!("./migrations/postgres");
        migrator.dangerous_set_table_name(MIGRATIONS_TABLE);
        migrator.run(&pool).await?;
        Ok(PostgresReadModel { pool })
    }

    /// Connects to `url` with a pool of its own
    /// ([`DEFAULT_MAX_CONNECTIONS`]), then migrates.
    pub async fn connect(url: &str) -> Result<Self, OpenError> {
        let options = PgConnectOptions::from_str(url).map_err(OpenError::Url)?;
        let pool = PgPoolOptions::new()
            .max_connections(DEFAULT_MAX_CONNECTIONS)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options)
            .await
            .map_err(OpenError::Connect)?;
        Self::from_pool(pool).await
    }
}

/// Whether retrying may help: the connection or pool failed, or the server
/// reports a connection problem (SQLSTATE class 08), a transaction rolled
/// back for concurrency (40), exhausted resources (53) or an operator's
/// intervention such as a shutdown (57).
pub(crate) fn is_transient(error: &sqlx::Error) -> bool {
    match error {
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
    }
}

/// A PostgreSQL error as the port reports it.
fn port_error(error: sqlx::Error) -> ReadModelError {
    if is_transient(&error) {
        ReadModelError::Unavailable(Box::new(error))
    } else {
        ReadModelError::Internal(Box::new(error))
    }
}

fn stored_order(row: &PgRow) -> Result<StoredOrder, ReadModelError> {
    Ok(StoredOrder {
        id: row.try_get("id").map_err(port_error)?,
        buyer_id: row.try_get("buyer_id").map_err(port_error)?,
        currency: row.try_get("currency").map_err(port_error)?,
        items: row.try_get("items").map_err(port_error)?,
        total: row.try_get("total").map_err(port_error)?,
        created_at: row.try_get("created_at").map_err(port_error)?,
        status: row.try_get("status").map_err(port_error)?,
        cancellation_reason: row.try_get("cancellation_reason").map_err(port_error)?,
        revision: row.try_get("revision").map_err(port_error)?,
        updated_at: row.try_get("updated_at").map_err(port_error)?,
    })
}

#[async_trait]
impl OrderReadModel for PostgresReadModel {
    #[tracing::instrument(skip_all, fields(order_id = %order.id), err)]
    async fn record_created(&self, order: &CreatedOrder) -> Result<(), ReadModelError> {
        sqlx::query(RECORD_CREATED)
            .bind(order.id)
            .bind(&order.buyer_id)
            .bind(&order.currency)
            .bind(encode_items(&order.items)?)
            .bind(&order.total)
            .bind(truncated(order.created_at))
            .bind(PENDING)
            .execute(&self.pool)
            .await
            .map_err(port_error)?;
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(order_id = %change.id, revision = change.revision), err)]
    async fn record_status(&self, change: &StatusChange) -> Result<(), ReadModelError> {
        if changes_nothing(change) {
            return Ok(());
        }
        sqlx::query(RECORD_STATUS)
            .bind(change.id)
            .bind(&change.status)
            .bind(&change.cancellation_reason)
            .bind(stored_revision(change.revision))
            .bind(truncated(change.at))
            .execute(&self.pool)
            .await
            .map_err(port_error)?;
        Ok(())
    }

    async fn get(&self, id: Uuid) -> Result<Option<GatewayOrder>, ReadModelError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM gateway_orders WHERE id = $1 AND created_at IS NOT NULL"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(port_error)?;
        match row {
            Some(row) => stored_order(&row)?.into_order(),
            None => Ok(None),
        }
    }

    async fn list(&self, query: &OrderListQuery) -> Result<OrderListPage, ReadModelError> {
        let limit = page_limit(query);
        let mut sql = QueryBuilder::<Postgres>::new("SELECT ");
        sql.push(COLUMNS)
            .push(" FROM gateway_orders WHERE created_at IS NOT NULL");
        if let Some(buyer) = &query.buyer {
            sql.push(" AND buyer_id = ").push_bind(buyer.clone());
        }
        match query.after.as_ref().map(Boundary::of) {
            Some(Boundary::After { created_at, id }) => {
                sql.push(" AND (created_at, id) < (")
                    .push_bind(created_at)
                    .push(", ")
                    .push_bind(id)
                    .push(")");
            }
            Some(Boundary::AtOrBefore { created_at }) => {
                sql.push(" AND created_at <= ").push_bind(created_at);
            }
            None => {}
        }
        sql.push(" ORDER BY created_at DESC, id DESC LIMIT ")
            .push_bind(i64::from(limit) + 1);
        let rows = sql
            .build()
            .fetch_all(&self.pool)
            .await
            .map_err(port_error)?;
        let stored = rows
            .iter()
            .map(stored_order)
            .collect::<Result<Vec<_>, _>>()?;
        page(stored, limit)
    }

    async fn check(&self) -> Result<(), ReadModelError> {
        sqlx::query("SELECT 1 FROM gateway_orders WHERE false")
            .fetch_optional(&self.pool)
            .await
            .map_err(port_error)?;
        Ok(())
    }
}
