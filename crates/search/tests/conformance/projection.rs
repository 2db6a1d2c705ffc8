//! The search projection, on every index adapter, reading a real SQLite
//! event store. Each function is one test, run by `main.rs`.

use std::sync::Arc;
use std::time::Duration;

use orderflow_app::ports::SearchScope;
use orderflow_app::ports::{
    CheckpointStore, EventMetadata, EventStore, ExpectedRevision, NewEvent, OrderDocument,
    Position, SearchIndex, SearchQuery, StreamName,
};
use orderflow_app::projections::search::{SEARCH_PROJECTION, SearchProjection, subscribe};
use orderflow_app::subscription::{
    CatchUpSubscription, EventHandler, SubscriptionConfig, run_subscription,
};
use orderflow_domain::testing::{self, order_id, user};
use orderflow_domain::{OrderCommand, OrderEvent, OrderStatus, decide};
use orderflow_testkit::events::stored_events;
use tokio::sync::oneshot;
use uuid::Uuid;

use crate::backends::{Backend, EventStoreFixture};
use crate::suite::{T0, all_documents};

async fn append(store: &dyn EventStore, n: u64, expected: ExpectedRevision, events: &[OrderEvent]) {
    let stream = StreamName::parse(order_id(n).stream_name()).unwrap();
    let new_events = stored_events(events, None, T0);
    store.append(&stream, expected, new_events).await.unwrap();
}

/// Appends what `POST /orders` stores: `OrderCreated` + `OrderSubscriptionAdded`.
pub async fn create(store: &dyn EventStore, n: u64, buyer: &str) {
    let command = OrderCommand::from(testing::create_order(order_id(n), buyer));
    let at = T0 + time::Duration::seconds(n as i64);
    let events = decide(None, &command, at).unwrap();
    append(store, n, ExpectedRevision::NoStream, &events).await;
}

/// Appends `OrderConfirmed` at revision 2.
pub async fn confirm(store: &dyn EventStore, n: u64) {
    let event = OrderEvent::OrderConfirmed {
        order_id: order_id(n),
        confirmed_at: T0 + time::Duration::hours(1),
    };
    append(store, n, ExpectedRevision::Exact(1), &[event]).await;
}

async fn add_subscriber(store: &dyn EventStore, n: u64, revision: u64, subscriber: &str) {
    let event = OrderEvent::OrderSubscriptionAdded {
        order_id: order_id(n),
        subscriber_id: user(subscriber),
    };
    append(store, n, ExpectedRevision::Exact(revision), &[event]).await;
}

pub fn config(name: &str) -> SubscriptionConfig {
    SubscriptionConfig {
        batch_size: 7,
        poll_interval: Duration::from_millis(50),
        ..SubscriptionConfig::new(name)
    }
}

/// A subscription running in the background until stopped.
pub struct Running {
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    pub fn start<H: EventHandler + 'static>(subscription: CatchUpSubscription, handler: H) -> Self {
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(run_subscription(subscription, handler, async {
            let _ = stopped.await;
        }));
        Running { stop, task }
    }

    pub async fn stop(self) {
        let _ = self.stop.send(());
        self.task.await.unwrap();
    }
}

/// Waits until the index's checkpoint for `projection` reaches the head.
pub async fn caught_up(store: &dyn EventStore, index: &dyn SearchIndex, projection: &str) {
    let head = store.head().await.unwrap();
    for _ in 0..500 {
        if index.checkpoint(projection).await.unwrap() >= head {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the projection did not reach position {head}");
}

pub async fn project_to_head(store: Arc<dyn EventStore>, index: Arc<dyn SearchIndex>) {
    let (subscription, projection) =
        subscribe(store.clone(), index.clone(), config(SEARCH_PROJECTION))
            .await
            .unwrap();
    let running = Running::start(subscription, projection);
    caught_up(&*store, &*index, SEARCH_PROJECTION).await;
    running.stop().await;
}

async fn status_of(index: &dyn SearchIndex, n: u64) -> OrderStatus {
    index.get(order_id(n)).await.unwrap().unwrap().status
}

fn pending() -> SearchQuery {
    SearchQuery::new(SearchScope::Everyone)
        .with_status(OrderStatus::Pending)
        .with_limit(100)
        .unwrap()
}

pub async fn the_projection_indexes_created_and_confirmed_orders(backend: &dyn Backend) {
    let events = EventStoreFixture::new().await;
    let store: Arc<dyn EventStore> = events.store.clone();
    let index = backend.open().await;
    let (subscription, projection) =
        subscribe(store.clone(), index.clone(), config(SEARCH_PROJECTION))
            .await
            .unwrap();
    let mut progress = projection.progress();
    let running = Running::start(subscription, projection);

    for n in 1..=20 {
        create(&*store, n, if n % 2 == 0 { "alice" } else { "bob" }).await;
    }
    confirm(&*store, 4).await;
    caught_up(&*store, &*index, SEARCH_PROJECTION).await;
    let head = store.head().await.unwrap();
    progress
        .wait_for(|position| *position >= head)
        .await
        .unwrap();

    let document = index.get(order_id(4)).await.unwrap().unwrap();
    assert_eq!(document.status, OrderStatus::Confirmed);
    assert_eq!(document.buyer_id, user("alice"));
    assert_eq!(document.subscriber_ids, [user("alice")].into());
    assert_eq!(document.revision, 2);
    assert_eq!(document.formatted_total(), "28.00");
    assert_eq!(status_of(&*index, 5).await, OrderStatus::Pending);
    assert_eq!(index.search(&pending()).await.unwrap().total, 19);
    running.stop().await;
}

pub async fn a_confirmed_order_no_longer_matches_pending(backend: &dyn Backend) {
    let events = EventStoreFixture::new().await;
    let store: Arc<dyn EventStore> = events.store.clone();
    let index = backend.open().await;
    let (subscription, projection) =
        subscribe(store.clone(), index.clone(), config(SEARCH_PROJECTION))
            .await
            .unwrap();
    let running = Running::start(subscription, projection);
    create(&*store, 1, "alice").await;
    caught_up(&*store, &*index, SEARCH_PROJECTION).await;
    let found = index.search(&pending()).await.unwrap();
    assert_eq!(found.items.len(), 1);

    confirm(&*store, 1).await;
    caught_up(&*store, &*index, SEARCH_PROJECTION).await;
    assert!(index.search(&pending()).await.unwrap().items.is_empty());
    let confirmed = SearchQuery::new(SearchScope::Everyone).with_status(OrderStatus::Confirmed);
    assert_eq!(index.search(&confirmed).await.unwrap().total, 1);
    running.stop().await;
}

async fn fill(store: &dyn EventStore) {
    for n in 1..=30 {
        create(store, n, if n % 3 == 0 { "bob" } else { "alice" }).await;
        if n % 2 == 0 {
            confirm(store, n).await;
        }
        if n % 5 == 0 {
            let revision = if n % 2 == 0 { 2 } else { 1 };
            add_subscriber(store, n, revision, "carol").await;
        }
    }
}

pub async fn replaying_from_the_first_event_gives_the_same_index(backend: &dyn Backend) {
    let events = EventStoreFixture::new().await;
    let store: Arc<dyn EventStore> = events.store.clone();
    fill(&*store).await;
    let index = backend.open().await;
    project_to_head(store.clone(), index.clone()).await;
    let first = all_documents(&*index).await;
    assert_eq!(first.len(), 30);

    // A second pass over every event, on top of the full index.
    let checkpoints: Arc<dyn CheckpointStore> = events.store.clone();
    let subscription = CatchUpSubscription::open(store.clone(), checkpoints, config("replay"))
        .await
        .unwrap();
    let projection = SearchProjection::new("replay", index.clone(), store.clone());
    let running = Running::start(subscription, projection);
    caught_up(&*store, &*index, "replay").await;
    running.stop().await;
    assert_eq!(all_documents(&*index).await, first);

    // And a rebuild from nothing.
    index.clear().await.unwrap();
    project_to_head(store.clone(), index.clone()).await;
    let rebuilt = all_documents(&*index).await;
    assert_eq!(rebuilt, first);
    let expected_carol: Vec<bool> = rebuilt
        .iter()
        .map(|d| d.subscriber_ids.contains(&user("carol")))
        .collect();
    assert_eq!(expected_carol.iter().filter(|c| **c).count(), 6);
}

pub async fn a_crash_between_the_index_commit_and_the_checkpoint_is_harmless(
    backend: &dyn Backend,
) {
    let events = EventStoreFixture::new().await;
    let store: Arc<dyn EventStore> = events.store.clone();
    let checkpoints: Arc<dyn CheckpointStore> = events.store.clone();
    fill(&*store).await;
    let index = backend.open().await;

    // The index commits a batch; the process dies before the checkpoint moves.
    let mut subscription =
        CatchUpSubscription::open(store.clone(), checkpoints.clone(), config("crashy"))
            .await
            .unwrap();
    let mut projection = SearchProjection::new("crashy", index.clone(), store.clone());
    let batch = subscription.poll().await.unwrap();
    assert!(!batch.is_empty());
    projection.handle(&batch).await.unwrap();
    drop((subscription, projection));
    assert_eq!(
        checkpoints.load_checkpoint("crashy").await.unwrap(),
        Position::START
    );
    confirm(&*store, 1).await;

    // The restart reads the same events again from the old checkpoint.
    let subscription = CatchUpSubscription::open(store.clone(), checkpoints, config("crashy"))
        .await
        .unwrap();
    let projection = SearchProjection::new("crashy", index.clone(), store.clone());
    let running = Running::start(subscription, projection);
    caught_up(&*store, &*index, "crashy").await;
    running.stop().await;
    let after_crash = all_documents(&*index).await;

    index.clear().await.unwrap();
    project_to_head(store.clone(), index.clone()).await;
    assert_eq!(after_crash, all_documents(&*index).await);
    assert_eq!(status_of(&*index, 1).await, OrderStatus::Confirmed);
}

pub async fn an_order_the_index_lost_is_healed_from_its_stream(backend: &dyn Backend) {
    let events = EventStoreFixture::new().await;
    let store: Arc<dyn EventStore> = events.store.clone();
    create(&*store, 1, "alice").await;
    add_subscriber(&*store, 1, 1, "carol").await;
    confirm_at(&*store, 1, 2).await;
    let index = backend.open().await;

    // Only the last event reaches a projection whose index holds nothing.
    let last = store.read_all(Position::new(3), 10).await.unwrap();
    assert_eq!(last.len(), 1);
    let mut projection = SearchProjection::new(SEARCH_PROJECTION, index.clone(), store.clone());
    projection.handle(&last).await.unwrap();

    let document: OrderDocument = index.get(order_id(1)).await.unwrap().unwrap();
    assert_eq!(document.status, OrderStatus::Confirmed);
    assert_eq!(
        document.subscriber_ids,
        [user("alice"), user("carol")].into()
    );
    assert_eq!(document.revision, 3);
    assert_eq!(
        index.checkpoint(SEARCH_PROJECTION).await.unwrap(),
        Position::new(4)
    );
}

async fn confirm_at(store: &dyn EventStore, n: u64, after_revision: u64) {
    let event = OrderEvent::OrderConfirmed {
        order_id: order_id(n),
        confirmed_at: T0 + time::Duration::hours(1),
    };
    append(store, n, ExpectedRevision::Exact(after_revision), &[event]).await;
}

pub async fn events_of_other_streams_are_skipped_and_still_move_the_checkpoint(
    backend: &dyn Backend,
) {
    let events = EventStoreFixture::new().await;
    let store: Arc<dyn EventStore> = events.store.clone();
    create(&*store, 1, "alice").await;
    let other = StreamName::parse("customer-1").unwrap();
    let foreign = NewEvent {
        id: Uuid::now_v7(),
        event_type: "CustomerRegistered".into(),
        schema_version: 1,
        data: serde_json::json!({ "name": "Alice" }),
        metadata: EventMetadata {
            correlation_id: Uuid::now_v7(),
            causation_id: Uuid::now_v7(),
            user_id: None,
            occurred_at: T0,
            trace: orderflow_app::TraceContext::none(),
        },
    };
    store
        .append(&other, ExpectedRevision::NoStream, vec![foreign])
        .await
        .unwrap();
    let index = backend.open().await;
    project_to_head(store.clone(), index.clone()).await;
    assert_eq!(
        index.checkpoint(SEARCH_PROJECTION).await.unwrap(),
        Position::new(3)
    );
    assert_eq!(all_documents(&*index).await.len(), 1);
}

pub async fn a_new_subscription_resumes_from_the_indexs_checkpoint(backend: &dyn Backend) {
    let events = EventStoreFixture::new().await;
    let store: Arc<dyn EventStore> = events.store.clone();
    create(&*store, 1, "alice").await;
    create(&*store, 2, "bob").await;
    let index = backend.open().await;
    project_to_head(store.clone(), index.clone()).await;
    let (subscription, projection) =
        subscribe(store.clone(), index.clone(), config(SEARCH_PROJECTION))
            .await
            .unwrap();
    assert_eq!(subscription.acknowledged(), Position::new(4));
    assert_eq!(*projection.progress().borrow(), Position::new(4));

    index.clear().await.unwrap();
    let (subscription, _) = subscribe(store.clone(), index.clone(), config(SEARCH_PROJECTION))
        .await
        .unwrap();
    assert_eq!(
        subscription.acknowledged(),
        Position::START,
        "a cleared index is rebuilt"
    );
}
