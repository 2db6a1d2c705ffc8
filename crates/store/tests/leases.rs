//! Leases on PostgreSQL advisory locks, against the real server (a fresh
//! database per test; the tests fail, never skip, without PostgreSQL).
#![allow(clippy::unwrap_used)]

use orderflow_app::ports::Leases;
use orderflow_store::PostgresLeases;
use orderflow_store::postgres::lease::RETRY;
use orderflow_testkit::TestDatabase;
use sqlx::PgPool;

async fn leases(database: &TestDatabase) -> (PgPool, PostgresLeases) {
    let pool = PgPool::connect(database.url()).await.unwrap();
    let leases = PostgresLeases::new(&pool);
    (pool, leases)
}

#[tokio::test]
async fn a_lease_is_held_by_one_instance_at_a_time_and_passes_on_when_released() {
    let database = TestDatabase::create().await;
    let (_pool, first) = leases(&database).await;
    let (_pool, second) = leases(&database).await;

    let held = first.acquire("push-publisher").await;
    let waiting = tokio::time::timeout(RETRY * 2, second.acquire("push-publisher")).await;
    assert!(waiting.is_err(), "a second holder got the lease");
    // Another name is another lease.
    let other = tokio::time::timeout(RETRY, second.acquire("integration-events")).await;
    assert!(other.is_ok(), "leases of other names wait for nothing");

    drop(held);
    let taken = tokio::time::timeout(RETRY * 3, second.acquire("push-publisher")).await;
    assert!(taken.is_ok(), "the released lease passes on");
}

#[tokio::test]
async fn a_lease_whose_session_ends_is_reported_lost_and_passes_on() {
    let database = TestDatabase::create().await;
    let (pool, first) = leases(&database).await;
    let (_pool, second) = leases(&database).await;
    let mut held = first.acquire("push-publisher").await;

    // The database ends the holder's session, as when its process dies.
    let ended: i64 = sqlx::query_scalar(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_locks
         WHERE locktype = 'advisory' AND granted AND pid <> pg_backend_pid()
           AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(ended, 1);

    let noticed = tokio::time::timeout(RETRY * 3, held.lost()).await;
    assert!(noticed.is_ok(), "the holder learns it lost the lease");
    let taken = tokio::time::timeout(RETRY * 3, second.acquire("push-publisher")).await;
    assert!(taken.is_ok(), "the lease passes on");
}
