//! What every event store adapter must do. Each function is one test, run
//! against every adapter by `main.rs`.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use orderflow_app::ports::{
    ActualRevision, EventMetadata, EventStore, EventStoreError, ExpectedRevision, NewEvent,
    Position, StreamName,
};
use orderflow_app::subscription::{
    CatchUpSubscription, EventHandler, HandlerError, SubscriptionConfig, run_subscription,
};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::backends::Backend;

fn stream(name: &str) -> StreamName {
    StreamName::parse(format!("{name}-{}", Uuid::new_v4())).unwrap()
}

fn event(event_type: &str) -> NewEvent {
    NewEvent {
        id: Uuid::new_v4(),
        event_type: event_type.into(),
        schema_version: 1,
        data: serde_json::json!({ "kind": event_type, "amount": 1250 }),
        metadata: EventMetadata {
            correlation_id: Uuid::new_v4(),
            causation_id: Uuid::new_v4(),
            user_id: Some("alice".into()),
            occurred_at: OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap(),
            trace: orderflow_app::TraceContext::none(),
        },
    }
}

fn subscription_config(name: &str, poll_interval: Duration) -> SubscriptionConfig {
    SubscriptionConfig {
        batch_size: 100,
        poll_interval,
        ..SubscriptionConfig::new(name)
    }
}

pub async fn appending_to_a_new_stream_starts_at_revision_zero(backend: &dyn Backend) {
    let store = backend.open().await;
    let order = stream("order");
    let outcome = store
        .append(
            &order,
            ExpectedRevision::NoStream,
            vec![event("A"), event("B")],
        )
        .await
        .unwrap();
    assert_eq!(outcome.last_revision, 1);
    assert_eq!(outcome.last_position, Position::new(2));
    assert!(!outcome.deduplicated);
    let events = store.read_stream(&order, 0, 10).await.unwrap();
    let revisions: Vec<u64> = events.iter().map(|e| e.revision).collect();
    let positions: Vec<u64> = events.iter().map(|e| e.position.value()).collect();
    assert_eq!(revisions, [0, 1]);
    assert_eq!(positions, [1, 2]);
    assert_eq!(store.head().await.unwrap(), Position::new(2));
}

pub async fn events_keep_their_ids_types_bodies_and_metadata(backend: &dyn Backend) {
    let store = backend.open().await;
    let order = stream("order");
    let mut written = event("OrderCreated");
    written.schema_version = 3;
    written.metadata.user_id = None;
    written.metadata.occurred_at =
        OffsetDateTime::from_unix_timestamp_nanos(1_700_000_000_123_456_000).unwrap();
    written.metadata.trace = orderflow_app::TraceContext::from_stored(
        Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".into()),
        Some("vendor=opaque".into()),
    );
    store
        .append(&order, ExpectedRevision::Any, vec![written.clone()])
        .await
        .unwrap();
    let read = store.read_stream(&order, 0, 1).await.unwrap().remove(0);
    assert_eq!(read.id, written.id);
    assert_eq!(read.stream, order);
    assert_eq!(read.event_type, "OrderCreated");
    assert_eq!(read.schema_version, 3);
    assert_eq!(read.data, written.data);
    assert_eq!(read.metadata, written.metadata);
    let followed = store.read_all(Position::START, 10).await.unwrap();
    assert_eq!(
        followed,
        vec![read],
        "read_all just after the append, as read_stream"
    );
}

/// A subscription that follows the head reads what was just committed (an adapter may
/// answer that from memory); another instance reads the same events from storage. Both
/// see the same events, field for field.
pub async fn reading_all_just_after_appending_matches_a_read_of_the_storage(backend: &dyn Backend) {
    let store = backend.open().await;
    let mut first = event("OrderCreated");
    first.metadata.occurred_at =
        OffsetDateTime::from_unix_timestamp_nanos(1_700_000_000_987_654_321)
            .unwrap()
            .to_offset(time::UtcOffset::from_hms(2, 0, 0).unwrap());
    first.metadata.trace = orderflow_app::TraceContext::from_stored(
        Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".into()),
        None,
    );
    let mut second = event("OrderSubscriptionAdded");
    second.data =
        serde_json::json!({ "text": "Grüße \u{1F600}", "price": "12.50", "n": -3, "f": 0.1 });
    let order = stream("order");
    store
        .append(&order, ExpectedRevision::NoStream, vec![first, second])
        .await
        .unwrap();
    let other = stream("order");
    store
        .append(
            &other,
            ExpectedRevision::NoStream,
            vec![event("OrderCreated")],
        )
        .await
        .unwrap();
    let followed_from_start = store.read_all(Position::START, 10).await.unwrap();
    let followed_from_second = store.read_all(Position::new(1), 10).await.unwrap();
    let followed_one = store.read_all(Position::new(1), 1).await.unwrap();

    let from_storage = backend
        .open()
        .await
        .read_all(Position::START, 10)
        .await
        .unwrap();
    assert_eq!(from_storage.len(), 3);
    assert_eq!(followed_from_start, from_storage);
    assert_eq!(followed_from_second, from_storage[1..]);
    assert_eq!(followed_one, from_storage[1..2]);
    assert_eq!(
        store.read_all(Position::new(3), 10).await.unwrap(),
        vec![],
        "nothing after the head"
    );
}

pub async fn appending_with_no_stream_to_an_existing_stream_conflicts(backend: &dyn Backend) {
    let store = backend.open().await;
    let order = stream("order");
    store
        .append(&order, ExpectedRevision::NoStream, vec![event("A")])
        .await
        .unwrap();
    let error = store
        .append(&order, ExpectedRevision::NoStream, vec![event("B")])
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            EventStoreError::WrongExpectedRevision {
                actual: ActualRevision::Revision(0),
                ..
            }
        ),
        "{error:?}"
    );
}

pub async fn appending_with_a_stale_exact_revision_conflicts_and_writes_nothing(
    backend: &dyn Backend,
) {
    let store = backend.open().await;
    let order = stream("order");
    store
        .append(
            &order,
            ExpectedRevision::NoStream,
            vec![event("A"), event("B")],
        )
        .await
        .unwrap();
    let error = store
        .append(
            &order,
            ExpectedRevision::Exact(0),
            vec![event("C"), event("D")],
        )
        .await
        .unwrap_err();
    assert!(matches!(
        error,
        EventStoreError::WrongExpectedRevision {
            expected: ExpectedRevision::Exact(0),
            actual: ActualRevision::Revision(1),
            ..
        }
    ));
    assert_eq!(store.read_stream(&order, 0, 10).await.unwrap().len(), 2);
    assert_eq!(store.head().await.unwrap(), Position::new(2));
    let outcome = store
        .append(&order, ExpectedRevision::Exact(1), vec![event("C")])
        .await
        .unwrap();
    assert_eq!(outcome.last_revision, 2);
    assert_eq!(outcome.last_position, Position::new(3));
    let missing = store
        .append(
            &stream("order"),
            ExpectedRevision::Exact(0),
            vec![event("X")],
        )
        .await
        .unwrap_err();
    assert!(matches!(
        missing,
        EventStoreError::WrongExpectedRevision {
            actual: ActualRevision::NoStream,
            ..
        }
    ));
}

pub async fn appending_with_any_revision_appends_at_the_end(backend: &dyn Backend) {
    let store = backend.open().await;
    let order = stream("order");
    let first = store
        .append(&order, ExpectedRevision::Any, vec![event("A")])
        .await
        .unwrap();
    let second = store
        .append(&order, ExpectedRevision::Any, vec![event("B"), event("C")])
        .await
        .unwrap();
    assert_eq!(first.last_revision, 0);
    assert_eq!(second.last_revision, 2);
}

pub async fn retrying_an_append_with_the_same_event_ids_returns_the_first_outcome(
    backend: &dyn Backend,
) {
    let store = backend.open().await;
    let order = stream("order");
    let events = vec![event("OrderCreated"), event("OrderSubscriptionAdded")];
    let first = store
        .append(&order, ExpectedRevision::NoStream, events.clone())
        .await
        .unwrap();
    store
        .append(
            &stream("other"),
            ExpectedRevision::NoStream,
            vec![event("X")],
        )
        .await
        .unwrap();
    let retried = store
        .append(&order, ExpectedRevision::NoStream, events)
        .await
        .unwrap();
    assert!(retried.deduplicated);
    assert_eq!(retried.last_revision, first.last_revision);
    assert_eq!(retried.last_position, first.last_position);
    assert_eq!(store.read_stream(&order, 0, 10).await.unwrap().len(), 2);
    assert_eq!(store.head().await.unwrap(), Position::new(3));
}

pub async fn reusing_a_stored_event_id_in_another_append_is_refused(backend: &dyn Backend) {
    let store = backend.open().await;
    let stored = event("A");
    store
        .append(
            &stream("order"),
            ExpectedRevision::Any,
            vec![stored.clone()],
        )
        .await
        .unwrap();
    let elsewhere = store
        .append(
            &stream("order"),
            ExpectedRevision::Any,
            vec![stored.clone()],
        )
        .await
        .unwrap_err();
    assert!(
        matches!(elsewhere, EventStoreError::DuplicateEventId { event_id } if event_id == stored.id)
    );
    let mixed = store
        .append(
            &stream("order"),
            ExpectedRevision::Any,
            vec![event("B"), stored],
        )
        .await
        .unwrap_err();
    assert!(matches!(mixed, EventStoreError::DuplicateEventId { .. }));
    assert_eq!(store.head().await.unwrap(), Position::new(1));
}

pub async fn an_empty_append_is_refused(backend: &dyn Backend) {
    let store = backend.open().await;
    let error = store
        .append(&stream("order"), ExpectedRevision::Any, vec![])
        .await
        .unwrap_err();
    assert!(matches!(error, EventStoreError::InvalidAppend(_)));
    let twice = event("A");
    let error = store
        .append(
            &stream("order"),
            ExpectedRevision::Any,
            vec![twice.clone(), twice],
        )
        .await
        .unwrap_err();
    assert!(matches!(error, EventStoreError::InvalidAppend(_)));
}

pub async fn reading_a_stream_starts_at_the_requested_revision(backend: &dyn Backend) {
    let store = backend.open().await;
    let order = stream("order");
    let other = stream("order");
    for _ in 0..5 {
        store
            .append(&order, ExpectedRevision::Any, vec![event("A")])
            .await
            .unwrap();
        store
            .append(&other, ExpectedRevision::Any, vec![event("B")])
            .await
            .unwrap();
    }
    let events = store.read_stream(&order, 2, 2).await.unwrap();
    let revisions: Vec<u64> = events.iter().map(|e| e.revision).collect();
    assert_eq!(revisions, [2, 3]);
    assert!(events.iter().all(|e| e.stream == order));
    assert!(store.read_stream(&order, 5, 10).await.unwrap().is_empty());
}

pub async fn reading_a_missing_stream_returns_nothing(backend: &dyn Backend) {
    let store = backend.open().await;
    assert!(
        store
            .read_stream(&stream("order"), 0, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn reading_all_returns_every_stream_in_position_order(backend: &dyn Backend) {
    let store = backend.open().await;
    let mut appended = Vec::new();
    for index in 0..10 {
        let new = event(&format!("E{index}"));
        appended.push(new.id);
        store
            .append(&stream("order"), ExpectedRevision::NoStream, vec![new])
            .await
            .unwrap();
    }
    let all = store.read_all(Position::START, 100).await.unwrap();
    assert_eq!(all.iter().map(|e| e.id).collect::<Vec<_>>(), appended);
    let page = store.read_all(Position::new(3), 4).await.unwrap();
    let positions: Vec<u64> = page.iter().map(|e| e.position.value()).collect();
    assert_eq!(positions, [4, 5, 6, 7]);
    assert!(
        store
            .read_all(Position::new(10), 100)
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn checkpoints_are_per_subscription_and_move_only_when_saved(backend: &dyn Backend) {
    let store = backend.open().await;
    assert_eq!(
        store.load_checkpoint("search").await.unwrap(),
        Position::START
    );
    store
        .save_checkpoint("search", Position::new(7))
        .await
        .unwrap();
    store
        .save_checkpoint("push", Position::new(3))
        .await
        .unwrap();
    store
        .save_checkpoint("search", Position::new(9))
        .await
        .unwrap();
    assert_eq!(
        store.load_checkpoint("search").await.unwrap(),
        Position::new(9)
    );
    assert_eq!(
        store.load_checkpoint("push").await.unwrap(),
        Position::new(3)
    );
    let reopened = backend.open().await;
    assert_eq!(
        reopened.load_checkpoint("search").await.unwrap(),
        Position::new(9)
    );
}

pub async fn a_subscription_catches_up_then_is_woken_by_new_events(backend: &dyn Backend) {
    let store = backend.open().await;
    for _ in 0..250 {
        store
            .append(
                &stream("order"),
                ExpectedRevision::NoStream,
                vec![event("A")],
            )
            .await
            .unwrap();
    }
    // A poll interval far beyond the test's patience: only the store's
    // notification can deliver the live event in time.
    let config = subscription_config("catch-up", Duration::from_secs(600));
    let mut subscription = CatchUpSubscription::open(store.clone(), store.clone(), config)
        .await
        .unwrap();
    let mut seen = 0;
    while seen < 250 {
        let batch = subscription.next_batch().await.unwrap();
        seen += batch.len();
    }
    assert_eq!(seen, 250);
    let waiting = tokio::spawn(async move { subscription.next_batch().await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let live = event("Live");
    store
        .append(
            &stream("order"),
            ExpectedRevision::NoStream,
            vec![live.clone()],
        )
        .await
        .unwrap();
    let batch = tokio::time::timeout(Duration::from_secs(10), waiting)
        .await
        .expect("the subscription was not woken by the new event")
        .unwrap()
        .unwrap();
    assert_eq!(batch.len(), 1);
    assert_eq!(batch[0].id, live.id);
    assert_eq!(batch[0].position, Position::new(251));
}

pub async fn a_subscription_redelivers_unacknowledged_events_after_a_restart(
    backend: &dyn Backend,
) {
    let store = backend.open().await;
    for _ in 0..5 {
        store
            .append(
                &stream("order"),
                ExpectedRevision::NoStream,
                vec![event("A")],
            )
            .await
            .unwrap();
    }
    let config = SubscriptionConfig {
        batch_size: 2,
        ..subscription_config("projection", Duration::from_millis(50))
    };
    let mut subscription = CatchUpSubscription::open(store.clone(), store.clone(), config.clone())
        .await
        .unwrap();
    let first = subscription.next_batch().await.unwrap();
    subscription.acknowledge(first[1].position).await.unwrap();
    let unacknowledged = subscription.next_batch().await.unwrap();
    assert_eq!(unacknowledged[0].position, Position::new(3));
    drop(subscription);

    let restarted = backend.open().await;
    let mut subscription = CatchUpSubscription::open(restarted.clone(), restarted, config)
        .await
        .unwrap();
    let again = subscription.next_batch().await.unwrap();
    assert_eq!(
        again[0].position,
        Position::new(3),
        "events 3 and 4 were never acknowledged"
    );
}

pub async fn of_many_racing_appends_at_one_revision_exactly_one_wins(backend: &dyn Backend) {
    let store = backend.open().await;
    let order = stream("order");
    store
        .append(&order, ExpectedRevision::NoStream, vec![event("Created")])
        .await
        .unwrap();
    let racers: Vec<_> = (0..16)
        .map(|_| {
            let store = store.clone();
            let order = order.clone();
            tokio::spawn(async move {
                store
                    .append(&order, ExpectedRevision::Exact(0), vec![event("Confirmed")])
                    .await
            })
        })
        .collect();
    let mut winners = 0;
    for racer in racers {
        match racer.await.unwrap() {
            Ok(_) => winners += 1,
            Err(EventStoreError::WrongExpectedRevision { .. }) => {}
            Err(other) => panic!("unexpected error {other:?}"),
        }
    }
    assert_eq!(winners, 1);
    assert_eq!(store.read_stream(&order, 0, 100).await.unwrap().len(), 2);
}

pub async fn events_survive_reopening_the_store(backend: &dyn Backend) {
    let store = backend.open().await;
    let order = stream("order");
    let written = event("A");
    store
        .append(&order, ExpectedRevision::NoStream, vec![written.clone()])
        .await
        .unwrap();
    drop(store);
    let reopened = backend.open().await;
    let read = reopened.read_stream(&order, 0, 10).await.unwrap();
    assert_eq!(read.len(), 1);
    assert_eq!(read[0].id, written.id);
    let next = reopened
        .append(&order, ExpectedRevision::Exact(0), vec![event("B")])
        .await
        .unwrap();
    assert_eq!(next.last_position, Position::new(2));
}

/// Several instances (as separate processes would) append concurrently
/// while a live subscriber follows. Every committed event must reach the
/// subscriber exactly once, in gap-free position order that agrees with each
/// stream's revisions.
pub async fn concurrent_appenders_never_make_a_live_subscriber_skip_or_repeat(
    backend: &dyn Backend,
) {
    const INSTANCES: usize = 4;
    const APPENDERS_PER_INSTANCE: usize = 8;
    const ORDERS_PER_APPENDER: usize = 60;

    let reader = backend.open().await;
    let config = subscription_config("live", Duration::from_millis(20));
    let mut subscription = CatchUpSubscription::open(reader.clone(), reader.clone(), config)
        .await
        .unwrap();

    let mut appenders = Vec::new();
    for _ in 0..INSTANCES {
        let instance = backend.open().await;
        for _ in 0..APPENDERS_PER_INSTANCE {
            let instance = instance.clone();
            appenders.push(tokio::spawn(async move {
                let mut committed = Vec::new();
                for _ in 0..ORDERS_PER_APPENDER {
                    let order = stream("order");
                    let created = vec![event("OrderCreated"), event("OrderSubscriptionAdded")];
                    let ids: Vec<Uuid> = created.iter().map(|e| e.id).collect();
                    instance
                        .append(&order, ExpectedRevision::NoStream, created)
                        .await
                        .unwrap();
                    committed.extend(ids);
                    let confirmed = event("OrderConfirmed");
                    committed.push(confirmed.id);
                    instance
                        .append(&order, ExpectedRevision::Exact(1), vec![confirmed])
                        .await
                        .unwrap();
                }
                committed
            }));
        }
    }

    let expected_total = INSTANCES * APPENDERS_PER_INSTANCE * ORDERS_PER_APPENDER * 3;
    let mut seen = Vec::with_capacity(expected_total);
    let mut last_position = Position::START;
    let mut revisions: HashMap<StreamName, u64> = HashMap::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    while seen.len() < expected_total {
        let batch = tokio::time::timeout_at(deadline, subscription.next_batch())
            .await
            .unwrap_or_else(|_| panic!("subscriber stalled after {} events", seen.len()))
            .unwrap();
        for event in &batch {
            assert_eq!(
                event.position.value(),
                last_position.value() + 1,
                "gap or repeat"
            );
            last_position = event.position;
            let expected_revision = revisions.get(&event.stream).map_or(0, |r| r + 1);
            assert_eq!(
                event.revision, expected_revision,
                "stream order broken in {}",
                event.stream
            );
            revisions.insert(event.stream.clone(), event.revision);
            seen.push(event.id);
        }
        subscription.acknowledge(last_position).await.unwrap();
    }

    let mut committed = HashSet::new();
    for appender in appenders {
        committed.extend(appender.await.unwrap());
    }
    let seen_set: HashSet<Uuid> = seen.iter().copied().collect();
    assert_eq!(seen_set.len(), seen.len(), "an event was delivered twice");
    assert_eq!(
        seen_set, committed,
        "the subscriber missed committed events"
    );
    assert!(subscription.poll().await.unwrap().is_empty());
    let _: Arc<dyn EventStore> = reader;
}

/// Reports the size of every batch it is handed.
struct BatchSizes(tokio::sync::mpsc::UnboundedSender<usize>);

#[async_trait::async_trait]
impl EventHandler for BatchSizes {
    async fn handle(
        &mut self,
        events: &[orderflow_app::ports::RecordedEvent],
    ) -> Result<(), HandlerError> {
        let _ = self.0.send(events.len());
        Ok(())
    }
}

pub async fn a_minimum_batch_interval_gathers_a_burst_into_one_batch(backend: &dyn Backend) {
    let store = backend.open().await;
    store
        .append(
            &stream("order"),
            ExpectedRevision::NoStream,
            vec![event("A")],
        )
        .await
        .unwrap();
    let config = SubscriptionConfig {
        min_batch_interval: Duration::from_millis(500),
        ..subscription_config("gathering", Duration::from_millis(20))
    };
    let subscription = CatchUpSubscription::open(store.clone(), store.clone(), config)
        .await
        .unwrap();
    let (sizes, mut batches) = tokio::sync::mpsc::unbounded_channel();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(run_subscription(subscription, BatchSizes(sizes), async {
        let _ = stopped.await;
    }));
    assert_eq!(batches.recv().await, Some(1));
    // Three separate commits right after the first batch: without the
    // interval the subscription is woken by the first and reads it alone.
    for _ in 0..3 {
        store
            .append(
                &stream("order"),
                ExpectedRevision::NoStream,
                vec![event("A")],
            )
            .await
            .unwrap();
    }
    let next = tokio::time::timeout(Duration::from_secs(5), batches.recv()).await;
    assert_eq!(next.unwrap(), Some(3), "the burst arrives as one batch");
    let _ = stop.send(());
    running.await.unwrap();
}
