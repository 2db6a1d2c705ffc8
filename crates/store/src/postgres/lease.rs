//! [`Leases`] on PostgreSQL session advisory locks.
//!
//! Guarantees: a lease is the advisory lock `(LEASE_CLASS, hashtext(name))`
//! held by a connection of its own, outside the pool; PostgreSQL releases it
//! when that session ends, so a crashed holder's lease passes on by itself.
//! [`Leases::acquire`] retries every [`RETRY`] (also while the database is
//! down); [`Lease::lost`] checks the session every [`RETRY`] and resolves when
//! it no longer answers.

use std::time::Duration;

use async_trait::async_trait;
use orderflow_app::ports::{Lease, Leases};
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{Connection, PgPool};

/// The first key of every orderflow lease, so they never collide with other
/// advisory locks in the same database ("ofls").
const LEASE_CLASS: i32 = 0x6f66_6c73;

/// How often a waiting acquire tries again, and a held lease checks itself.
pub const RETRY: Duration = Duration::from_secs(2);

/// Leases in one PostgreSQL database.
#[derive(Debug, Clone)]
pub struct PostgresLeases {
    options: PgConnectOptions,
}

impl PostgresLeases {
    /// Leases in the database `pool` connects to.
    pub fn new(pool: &PgPool) -> Self {
        PostgresLeases {
            options: (*pool.connect_options()).clone(),
        }
    }

    /// One attempt: the lease's connection if it got the lock.
    async fn try_acquire(&self, name: &str) -> Result<Option<PgConnection>, sqlx::Error> {
        let mut connection = PgConnection::connect_with(&self.options).await?;
        let held: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1, hashtext($2))")
            .bind(LEASE_CLASS)
            .bind(name)
            .fetch_one(&mut connection)
            .await?;
        Ok(held.then_some(connection))
    }
}

#[async_trait]
impl Leases for PostgresLeases {
    async fn acquire(&self, name: &str) -> Box<dyn Lease> {
        loop {
            match self.try_acquire(name).await {
                Ok(Some(connection)) => {
                    tracing::info!(lease = name, "lease acquired");
                    return Box::new(PostgresLease {
                        name: name.to_owned(),
                        connection,
                    });
                }
                Ok(None) => {}
                Err(error) => {
                    tracing::warn!(lease = name, %error, "cannot try the lease; retrying")
                }
            }
            tokio::time::sleep(RETRY).await;
        }
    }
}

/// A held advisory lock and the session that holds it.
struct PostgresLease {
    name: String,
    connection: PgConnection,
}

#[async_trait]
impl Lease for PostgresLease {
    async fn lost(&mut self) {
        loop {
            tokio::time::sleep(RETRY).await;
            if let Err(error) = self.connection.ping().await {
                tracing::warn!(lease = %self.name, %error, "lease lost: its session broke");
                return;
            }
        }
    }
}
