//! One conformance suite for every inbox adapter: each test in [`suite`] runs once against
//! SQLite and once against PostgreSQL.
//!
//! PostgreSQL tests each get a fresh database on the server named by
//! `ORDERFLOW_TEST_DATABASE_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`).
//! They fail, loudly, when it cannot be reached: they never skip.
#![allow(clippy::unwrap_used, unreachable_pub)]

mod backends;
mod suite;

macro_rules! conformance_suite {
    ($adapter:ident, $backend:expr, [$($test:ident),* $(,)?]) => {
        mod $adapter {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    let backend = $backend.await;
                    crate::suite::$test(&backend).await;
                }
            )*
        }
    };
}

macro_rules! every_adapter {
    ($($test:ident),* $(,)?) => {
        conformance_suite!(sqlite, crate::backends::SqliteBackend::new(), [$($test),*]);
        conformance_suite!(postgres, crate::backends::PostgresBackend::new(), [$($test),*]);
    };
}

every_adapter!(
    a_recorded_push_is_pending_for_each_of_its_users_and_nobody_else,
    pending_entries_come_oldest_first,
    recording_again_or_from_another_instance_writes_one_entry,
    an_acknowledged_push_is_never_pending_again_even_when_recorded_again,
    acknowledging_is_per_user,
    past_the_count_bound_the_oldest_are_dropped_and_counted,
    past_the_age_bound_entries_are_not_pending_and_pruning_counts_them,
    pending_honours_its_limit,
    entries_survive_reopening_and_other_instances_see_them,
    pruning_a_backlog_larger_than_one_chunk_deletes_all_of_it,
    depth_counts_every_users_pending_entries_and_nothing_else,
);
