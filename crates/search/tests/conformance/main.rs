//! One conformance suite for every search index adapter, and the search
//! projection's tests: each test in [`suite`] and [`projection`] runs once
//! against tantivy and once against PostgreSQL.
//!
//! PostgreSQL tests each get a fresh database on the server named by
//! `ORDERFLOW_TEST_DATABASE_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`).
//! They fail, loudly, when it cannot be reached: they never skip.
#![allow(clippy::unwrap_used, unreachable_pub)]

mod backends;
mod postgres_generations;
mod projection;
mod rebuild;
mod suite;

macro_rules! conformance_suite {
    ($adapter:ident, $backend:expr, [$($module:ident :: $test:ident),* $(,)?]) => {
        mod $adapter {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    let backend = $backend.await;
                    crate::$module::$test(&backend).await;
                }
            )*
        }
    };
}

macro_rules! every_adapter {
    ($($module:ident :: $test:ident),* $(,)?) => {
        conformance_suite!(tantivy, crate::backends::TantivyBackend::new(), [$($module::$test),*]);
        conformance_suite!(postgres, crate::backends::PostgresBackend::new(), [$($module::$test),*]);
    };
}

every_adapter!(
    suite::an_applied_document_reads_back_equal,
    suite::a_document_at_an_older_or_equal_revision_is_ignored,
    suite::within_one_update_the_newest_revision_of_an_order_wins,
    suite::timestamps_are_kept_to_the_microsecond,
    suite::searching_by_status_finds_only_that_status,
    suite::text_matches_words_of_item_names_case_insensitively,
    suite::every_word_of_the_text_must_match,
    suite::text_matches_skus_whole_and_case_insensitively,
    suite::text_matches_the_order_id_in_any_spelling,
    suite::a_buyer_never_sees_another_buyers_orders,
    suite::the_created_range_includes_from_and_excludes_to,
    suite::results_are_newest_first_with_the_order_id_breaking_ties,
    suite::following_cursors_visits_every_document_exactly_once,
    suite::a_page_that_ends_exactly_at_the_last_match_has_no_cursor,
    suite::checkpoints_commit_with_documents_and_only_move_forward,
    suite::documents_and_checkpoints_survive_reopening,
    suite::clearing_removes_every_document_and_checkpoint,
    suite::buyer_ids_match_exactly,
    projection::the_projection_indexes_created_and_confirmed_orders,
    projection::a_confirmed_order_no_longer_matches_pending,
    projection::replaying_from_the_first_event_gives_the_same_index,
    projection::a_crash_between_the_index_commit_and_the_checkpoint_is_harmless,
    projection::an_order_the_index_lost_is_healed_from_its_stream,
    projection::events_of_other_streams_are_skipped_and_still_move_the_checkpoint,
    projection::a_new_subscription_resumes_from_the_indexs_checkpoint,
    rebuild::a_rebuild_swaps_in_an_equal_index_that_keeps_following_and_a_reopen_finds,
    rebuild::rebuilding_twice_in_a_row_gives_the_same_index,
    rebuild::a_rebuild_swaps_in_a_fresh_index_holding_what_the_live_one_held,
);
