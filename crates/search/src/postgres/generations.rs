//! Rebuilding the PostgreSQL search index that every instance shares, while
//! they all keep answering: generations of tables and the pointer to the one
//! in use (`search_generation`).
//!
//! Guarantees:
//! * **One generation in use, moving forward only.** A rebuild fills a fresh
//!   generation ([`PostgresGenerations`] as [`FreshIndexes`]) and installs it
//!   by moving the pointer, in one transaction with a notification; an
//!   install older than the generation in use is refused, so two rebuilds
//!   at once end with the newer one in use.
//! * **Every instance follows.** [`PostgresGenerations::follow`] switches an
//!   instance when it is notified, or within [`FOLLOW_POLL`] when a
//!   notification was missed. It switches between two projection batches,
//!   after catching the new generation up to what this instance's projection
//!   had indexed, so nothing it wrote only to the old generation is missing
//!   from the new one.
//! * **Old tables go, after a grace period.** The replaced generation is
//!   dropped a grace period after the install (a minute by default in the
//!   binary), so instances that have not switched yet keep answering from it
//!   meanwhile; generations older than the replaced one (left by crashed or
//!   abandoned rebuilds) are dropped at once, and so is a rebuild's fresh
//!   generation when it fails.

use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use orderflow_app::ports::{EventStore, FreshIndexes, Position, RebuildError, SearchIndex};
use orderflow_app::projections::search::rebuild::{BatchGate, SwappableIndex, swap_in};
use sqlx::postgres::{PgListener, PgPool};
use tokio::sync::watch;

use super::PostgresSearchIndex;
use super::tables::Tables;
use crate::building::Building;

/// The channel an install notifies, with the new generation as payload.
const CHANNEL: &str = "orderflow_search_generation";

/// How often an instance looks at the pointer when no notification came.
pub const FOLLOW_POLL: Duration = Duration::from_secs(5);

/// The generation in use.
pub(super) async fn current(pool: &PgPool) -> Result<u64, sqlx::Error> {
    let generation: i64 = sqlx::query_scalar("SELECT generation FROM search_generation")
        .fetch_one(pool)
        .await?;
    Ok(u64::try_from(generation).unwrap_or(0))
}

/// Drops (or, for generation 0, empties) `generation`'s tables.
async fn remove(pool: &PgPool, generation: u64) -> Result<(), sqlx::Error> {
    sqlx::query(Tables::of(generation).remove())
        .execute(pool)
        .await
        .map(|_| ())
}

/// Every numbered generation whose tables exist, in this schema.
async fn existing(pool: &PgPool) -> Result<Vec<u64>, sqlx::Error> {
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT tablename::text FROM pg_tables
         WHERE schemaname = current_schema() AND tablename LIKE 'search_orders_g%'",
    )
    .fetch_all(pool)
    .await?;
    Ok(names
        .iter()
        .filter_map(|name| name.strip_prefix("search_orders_g")?.parse().ok())
        .collect())
}

/// The generations of one shared index as this instance sees them: the one
/// it uses, and the one its rebuild is filling.
#[derive(Debug)]
pub struct PostgresGenerations {
    pool: PgPool,
    in_use: Mutex<u64>,
    building: Building<u64>,
    grace: Duration,
}

impl PostgresGenerations {
    /// Generations of `index`'s database; `index` is the one in use here.
    /// A replaced generation is dropped `grace` after an install.
    pub fn new(index: &PostgresSearchIndex, grace: Duration) -> Self {
        PostgresGenerations {
            pool: index.pool.clone(),
            in_use: Mutex::new(index.generation()),
            building: Building::default(),
            grace,
        }
    }

    /// The generation this instance uses.
    pub fn in_use(&self) -> u64 {
        *self.in_use.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Switches `live` to the generation in use when it is another one than
    /// this instance's; `true` when it switched. Takes `gate`, so it runs
    /// between two batches of the projection whose position `progress` is.
    pub async fn follow_once(
        &self,
        store: Arc<dyn EventStore>,
        live: &SwappableIndex,
        gate: &BatchGate,
        progress: &watch::Receiver<Position>,
    ) -> Result<bool, RebuildError> {
        let pointed = current(&self.pool).await.map_err(RebuildError::of)?;
        if pointed == self.in_use() {
            return Ok(false);
        }
        let paused = gate.lock().await;
        let indexed = *progress.borrow();
        let fresh = Arc::new(PostgresSearchIndex::at(self.pool.clone(), pointed));
        swap_in(store, live, &paused, fresh, indexed).await?;
        *self.in_use.lock().unwrap_or_else(PoisonError::into_inner) = pointed;
        tracing::info!(
            generation = pointed,
            "search index switched to a rebuilt generation"
        );
        Ok(true)
    }

    /// Follows the generation in use until `stopped` resolves (see the
    /// module header).
    pub async fn follow(
        self: Arc<Self>,
        store: Arc<dyn EventStore>,
        live: Arc<SwappableIndex>,
        gate: BatchGate,
        progress: watch::Receiver<Position>,
        stopped: impl Future<Output = ()> + Send,
    ) {
        let mut stopped = std::pin::pin!(stopped);
        let mut listener = None;
        loop {
            if listener.is_none() {
                listener = self.listen().await;
            }
            let notified = async {
                match listener.as_mut() {
                    Some(listening) => listening.recv().await.is_ok(),
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = &mut stopped => return,
                ok = notified => if !ok {
                    // Listen again on a fresh connection next time round.
                    listener = None;
                    tokio::time::sleep(FOLLOW_POLL).await;
                },
                () = tokio::time::sleep(FOLLOW_POLL) => {}
            }
            if let Err(error) = self
                .follow_once(store.clone(), &live, &gate, &progress)
                .await
            {
                tracing::warn!(%error, "cannot follow the search generation in use, retrying");
            }
        }
    }

    async fn listen(&self) -> Option<PgListener> {
        let listening = async {
            let mut listener = PgListener::connect_with(&self.pool).await?;
            listener.listen(CHANNEL).await?;
            Ok::<_, sqlx::Error>(listener)
        };
        match listening.await {
            Ok(listener) => Some(listener),
            Err(error) => {
                tracing::warn!(%error, "cannot listen for search generation changes; polling");
                None
            }
        }
    }

    /// Points every instance at `generation`; returns the one it replaced.
    async fn install(&self, generation: u64) -> Result<u64, RebuildError> {
        let mut transaction = self.pool.begin().await.map_err(RebuildError::of)?;
        let replaced: i64 =
            sqlx::query_scalar("SELECT generation FROM search_generation FOR UPDATE")
                .fetch_one(&mut *transaction)
                .await
                .map_err(RebuildError::of)?;
        let replaced = u64::try_from(replaced).unwrap_or(0);
        if replaced >= generation {
            return Err(RebuildError::refused(format!(
                "a newer rebuild (generation {replaced}) was installed meanwhile"
            )));
        }
        let number = i64::try_from(generation).map_err(RebuildError::of)?;
        sqlx::query("UPDATE search_generation SET generation = $1")
            .bind(number)
            .execute(&mut *transaction)
            .await
            .map_err(RebuildError::of)?;
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CHANNEL)
            .bind(generation.to_string())
            .execute(&mut *transaction)
            .await
            .map_err(RebuildError::of)?;
        transaction.commit().await.map_err(RebuildError::of)?;
        Ok(replaced)
    }

    /// Drops `replaced` after the grace period, and at once every
    /// generation older than it.
    async fn retire(&self, replaced: u64) {
        for generation in existing(&self.pool).await.unwrap_or_default() {
            if generation < replaced
                && let Err(error) = remove(&self.pool, generation).await
            {
                tracing::warn!(generation, %error, "cannot drop an abandoned search generation");
            }
        }
        let pool = self.pool.clone();
        let grace = self.grace;
        tokio::spawn(async move {
            tokio::time::sleep(grace).await;
            if let Err(error) = remove(&pool, replaced).await {
                tracing::warn!(generation = replaced, %error, "cannot drop a replaced search generation");
            }
        });
    }
}

#[async_trait]
impl FreshIndexes for PostgresGenerations {
    async fn create(&self) -> Result<Arc<dyn SearchIndex>, RebuildError> {
        let number: i64 = sqlx::query_scalar("SELECT nextval('search_generation_numbers')")
            .fetch_one(&self.pool)
            .await
            .map_err(RebuildError::of)?;
        let generation = u64::try_from(number).map_err(RebuildError::of)?;
        for statement in Tables::of(generation).create() {
            sqlx::query(statement)
                .execute(&self.pool)
                .await
                .map_err(RebuildError::of)?;
        }
        self.building.started(generation);
        Ok(Arc::new(PostgresSearchIndex::at(
            self.pool.clone(),
            generation,
        )))
    }

    async fn installed(&self, _replaced: Arc<dyn SearchIndex>) -> Result<(), RebuildError> {
        let built = self
            .building
            .finished()
            .ok_or_else(|| RebuildError::refused("no generation was being built"))?;
        let replaced = self.install(built).await?;
        *self.in_use.lock().unwrap_or_else(PoisonError::into_inner) = built;
        self.retire(replaced).await;
        Ok(())
    }

    async fn abandoned(&self) {
        if let Some(generation) = self.building.finished()
            && let Err(error) = remove(&self.pool, generation).await
        {
            tracing::warn!(generation, %error, "cannot drop an abandoned search generation");
        }
    }
}
