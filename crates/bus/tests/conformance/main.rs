//! One conformance suite for every bus adapter: each test in [`suite`] runs
//! once against the in-process bus and once against RabbitMQ. Tests that only
//! one adapter can run (killing a broker connection, backpressure of a
//! bounded in-process queue) live in [`rabbitmq_only`] and [`in_process_only`]; the
//! RabbitMQ publisher's latency histograms in [`publish_metrics`].
//!
//! RabbitMQ tests use the broker named by `ORDERFLOW_TEST_AMQP_URL` (default
//! `amqp://guest:guest@127.0.0.1:5672/%2f`), with a random exchange and random
//! queue names per test, deleted afterwards. They fail, loudly, when it cannot
//! be reached: they never skip.
#![allow(clippy::unwrap_used, unreachable_pub)]

mod backends;
mod in_process_only;
mod publish_metrics;
mod rabbitmq_only;
mod suite;
mod support;

macro_rules! conformance_suite {
    ($adapter:ident, $backend:expr, [$($test:ident),* $(,)?]) => {
        mod $adapter {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    let backend = $backend.await;
                    crate::backends::run_then_clean_up(&backend, crate::suite::$test(&backend)).await;
                }
            )*
        }
    };
}

macro_rules! every_adapter {
    ($($test:ident),* $(,)?) => {
        conformance_suite!(in_process, crate::backends::Backend::in_process(), [$($test),*]);
        conformance_suite!(rabbitmq, crate::backends::Backend::rabbitmq(), [$($test),*]);
    };
}

every_adapter!(
    a_published_message_arrives_with_its_properties_intact,
    a_batch_arrives_in_order,
    topic_patterns_route_like_an_amqp_topic_exchange,
    every_exclusive_queue_gets_its_own_copy,
    competing_consumers_share_the_work_without_duplicates,
    a_shared_queue_keeps_messages_while_no_one_consumes,
    a_nack_with_requeue_redelivers_the_message_flagged_redelivered,
    a_delivery_dropped_unsettled_comes_back,
    rejected_and_unrequeued_messages_are_dead_lettered,
    a_message_requeued_past_the_delivery_limit_is_dead_lettered,
    an_exclusive_queue_enforces_the_delivery_limit_too,
    prefetch_bounds_the_unsettled_deliveries,
    a_request_gets_the_reply_correlated_to_it,
    a_request_without_a_reply_times_out,
    a_request_no_queue_is_bound_for_is_unroutable,
    a_mandatory_message_no_queue_is_bound_for_is_unroutable,
    replying_to_a_message_that_is_not_a_request_is_refused,
    the_deduplicator_drops_a_message_delivered_twice,
    a_queue_cannot_be_both_shared_and_exclusive,
);
