//! One conformance suite for every read model adapter: each test in
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
    a_created_order_reads_back_with_every_field,
    recording_a_creation_again_changes_nothing,
    a_status_that_arrives_before_the_creation_is_kept_and_wins,
    a_status_at_an_older_or_equal_revision_is_ignored,
    a_status_at_revision_zero_changes_nothing,
    a_cancelled_order_keeps_its_reason,
    an_order_whose_creation_has_not_arrived_is_invisible,
    any_order_and_any_repetition_of_changes_gives_the_same_row,
    concurrent_deliveries_of_one_orders_changes_converge,
    a_buyer_lists_only_their_own_orders_and_admins_list_all,
    lists_are_newest_first_with_the_order_id_breaking_ties,
    following_next_visits_every_order_exactly_once,
    following_next_within_one_buyer_stays_within_that_buyer,
    a_page_that_ends_exactly_at_the_last_order_has_no_next,
    limits_are_clamped_to_one_and_the_maximum,
    timestamps_are_kept_to_the_microsecond,
    a_cursor_between_two_microseconds_continues_at_the_older_one,
    changes_survive_reopening_and_other_instances_see_them,
    a_healthy_read_model_answers_the_check,
);
