//! One conformance suite for every event store adapter: each test in
//! [`suite`] runs once against SQLite and once against PostgreSQL.
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
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
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
    appending_to_a_new_stream_starts_at_revision_zero,
    events_keep_their_ids_types_bodies_and_metadata,
    reading_all_just_after_appending_matches_a_read_of_the_storage,
    appending_with_no_stream_to_an_existing_stream_conflicts,
    appending_with_a_stale_exact_revision_conflicts_and_writes_nothing,
    appending_with_any_revision_appends_at_the_end,
    retrying_an_append_with_the_same_event_ids_returns_the_first_outcome,
    reusing_a_stored_event_id_in_another_append_is_refused,
    an_empty_append_is_refused,
    reading_a_stream_starts_at_the_requested_revision,
    reading_a_missing_stream_returns_nothing,
    reading_all_returns_every_stream_in_position_order,
    checkpoints_are_per_subscription_and_move_only_when_saved,
    a_subscription_catches_up_then_is_woken_by_new_events,
    a_subscription_redelivers_unacknowledged_events_after_a_restart,
    of_many_racing_appends_at_one_revision_exactly_one_wins,
    events_survive_reopening_the_store,
    concurrent_appenders_never_make_a_live_subscriber_skip_or_repeat,
    a_minimum_batch_interval_gathers_a_burst_into_one_batch,
);
