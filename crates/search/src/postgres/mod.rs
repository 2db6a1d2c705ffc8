//! The server-mode search index: a table in PostgreSQL, shared by every
//! stateless orderflow instance.
//!
//! Guarantees, on top of the port's:
//! * **One transaction per update.** The documents of an [`IndexUpdate`] are
//!   upserted by one `INSERT … SELECT FROM UNNEST(…)` (rows sorted by id, so
//!   concurrent writers cannot deadlock) and the checkpoint is written in the
//!   same transaction.
//! * **Revision guard in SQL.** `ON CONFLICT (id) DO UPDATE … WHERE
//!   search_orders.revision < EXCLUDED.revision`: an older or replayed state
//!   never overwrites a newer one, whichever instance writes it.
//! * **Checkpoints never move backwards** (`GREATEST`), so several instances
//!   running the projection at once cannot rewind each other.
//! * **Text** is matched on a `tsvector` (GIN) built with
//!   `array_to_tsvector` from the keywords of [`crate::text`], and queried with
//!   quoted lexemes: PostgreSQL never re-tokenises or stems, so it matches
//!   exactly what the tantivy adapter matches.
//! * **Generations.** The documents live in one generation of tables
//!   ([`tables`]); an instance opens the one `search_generation` names, and a
//!   rebuild fills a fresh one and moves every instance to it
//!   ([`generations`]).
//! * **Migrations** (`migrations/postgres/`) are tracked in
//!   `_orderflow_search_migrations`, apart from the event store's, so both can
//!   live in one database.

pub mod generations;
mod query;
mod tables;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use orderflow_app::ports::{
    IndexUpdate, OrderDocument, Position, SearchError, SearchIndex, SearchPage, SearchQuery,
};
use orderflow_domain::OrderId;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::stored;
use crate::text::keywords;
use crate::update::newest_per_order;
use tables::Tables;

/// The table that records which search migrations ran.
const MIGRATIONS_TABLE: &str = "_orderflow_search_migrations";

/// Why the index could not start.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("invalid database url: {0}")]
    Url(sqlx::Error),
    #[error("cannot connect to PostgreSQL: {0}")]
    Connect(sqlx::Error),
    #[error("cannot migrate the search schema: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("cannot read which search generation is in use: {0}")]
    Generation(sqlx::Error),
}

/// The PostgreSQL adapter of [`SearchIndex`], on one generation of the
/// tables. Cheap to clone.
#[derive(Debug, Clone)]
pub struct PostgresSearchIndex {
    pool: PgPool,
    tables: Arc<Tables>,
}

impl PostgresSearchIndex {
    /// Uses `pool` (for instance the event store's) after running the
    /// search migrations, on the generation in use.
    pub async fn new(pool: PgPool) -> Result<Self, ConnectError> {
        let mut migrator = sqlx::migrate!("./migrations/postgres");
        migrator.dangerous_set_table_name(MIGRATIONS_TABLE);
        migrator.run(&pool).await?;
        let generation = generations::current(&pool)
            .await
            .map_err(ConnectError::Generation)?;
        Ok(Self::at(pool, generation))
    }

    /// The index on `generation`'s tables (which must exist), same pool.
    fn at(pool: PgPool, generation: u64) -> Self {
        PostgresSearchIndex {
            pool,
            tables: Arc::new(Tables::of(generation)),
        }
    }

    /// The generation of tables this index reads and writes.
    pub fn generation(&self) -> u64 {
        self.tables.generation
    }

    /// Connects to `url` with a pool of its own, then migrates.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, ConnectError> {
        let options = PgConnectOptions::from_str(url).map_err(ConnectError::Url)?;
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options)
            .await
            .map_err(ConnectError::Connect)?;
        Self::new(pool).await
    }
}

fn unavailable(error: impl Into<orderflow_app::error::Cause>) -> SearchError {
    SearchError::Unavailable(error.into())
}

fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// The rows of one upsert, column by column (for `UNNEST`).
#[derive(Default)]
struct Columns {
    ids: Vec<Uuid>,
    buyer_ids: Vec<String>,
    statuses: Vec<&'static str>,
    created_at: Vec<OffsetDateTime>,
    revisions: Vec<i64>,
    keywords: Vec<String>,
    documents: Vec<String>,
}

impl Columns {
    fn of(mut documents: Vec<OrderDocument>) -> Columns {
        documents.sort_by_key(|document| document.order_id);
        let mut columns = Columns::default();
        for document in documents {
            columns.ids.push(document.order_id.as_uuid());
            columns.buyer_ids.push(document.buyer_id.to_string());
            columns.statuses.push(document.status.as_str());
            columns.created_at.push(document.created_at);
            columns.revisions.push(to_i64(document.revision));
            // Keywords never contain whitespace: a space joins them safely.
            let words: Vec<String> = keywords(&document).into_iter().collect();
            columns.keywords.push(words.join(" "));
            columns.documents.push(stored::encode(&document));
        }
        columns
    }
}

#[async_trait]
impl SearchIndex for PostgresSearchIndex {
    #[tracing::instrument(skip_all, fields(documents = update.documents.len()), err)]
    async fn apply(&self, update: IndexUpdate) -> Result<(), SearchError> {
        let documents = newest_per_order(update.documents);
        if documents.is_empty() && update.checkpoint.is_none() {
            return Ok(());
        }
        let mut transaction = self.pool.begin().await.map_err(unavailable)?;
        if !documents.is_empty() {
            let columns = Columns::of(documents);
            sqlx::query(self.tables.upsert.clone())
                .bind(columns.ids)
                .bind(columns.buyer_ids)
                .bind(columns.statuses)
                .bind(columns.created_at)
                .bind(columns.revisions)
                .bind(columns.keywords)
                .bind(columns.documents)
                .execute(&mut *transaction)
                .await
                .map_err(unavailable)?;
        }
        if let Some(checkpoint) = update.checkpoint {
            sqlx::query(self.tables.save_checkpoint.clone())
                .bind(checkpoint.projection)
                .bind(to_i64(checkpoint.position.value()))
                .execute(&mut *transaction)
                .await
                .map_err(unavailable)?;
        }
        transaction.commit().await.map_err(unavailable)
    }

    async fn get_many(&self, ids: &[OrderId]) -> Result<Vec<OrderDocument>, SearchError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<Uuid> = ids.iter().map(OrderId::as_uuid).collect();
        let rows: Vec<String> = sqlx::query_scalar(self.tables.get_many.clone())
            .bind(ids)
            .fetch_all(&self.pool)
            .await
            .map_err(unavailable)?;
        rows.iter()
            .map(|json| stored::decode(json.as_bytes()))
            .collect()
    }

    async fn search(&self, query: &SearchQuery) -> Result<SearchPage, SearchError> {
        query::search(&self.pool, &self.tables.orders, query).await
    }

    async fn checkpoint(&self, projection: &str) -> Result<Position, SearchError> {
        let position: Option<i64> = sqlx::query_scalar(self.tables.load_checkpoint.clone())
            .bind(projection)
            .fetch_optional(&self.pool)
            .await
            .map_err(unavailable)?;
        let position = position.and_then(|p| u64::try_from(p).ok()).unwrap_or(0);
        Ok(Position::new(position))
    }

    #[tracing::instrument(skip_all, err)]
    async fn clear(&self) -> Result<(), SearchError> {
        sqlx::query(self.tables.clear.clone())
            .execute(&self.pool)
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}

/// `micros` since the epoch as a timestamp, if `time` can represent it.
fn from_unix_micros(micros: i64) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1_000).ok()
}

#[cfg(test)]
mod tests {
    use orderflow_app::ports::search::unix_micros;

    use super::*;

    #[test]
    fn microseconds_round_trip_through_timestamps() {
        let at = OffsetDateTime::from_unix_timestamp_nanos(1_767_323_045_123_456_000).unwrap();
        assert_eq!(from_unix_micros(unix_micros(at)), Some(at));
        assert_eq!(from_unix_micros(i64::MAX), None);
    }
}
