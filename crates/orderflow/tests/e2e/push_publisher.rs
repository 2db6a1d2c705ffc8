//! The push publisher against a real event store and bus: a confirmation is
//! announced to the buyer and to everyone subscribed before it — whether the
//! publisher followed the order from its creation (its subscriber cache) or
//! meets it for the first time at the confirmation (folded from the stream).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use orderflow_app::orders::{
    ConfirmOrderRequest, OrderHandlers, PlaceOrderRequest, SubscribeToOrderRequest,
};
use orderflow_app::ports::bus::{MessageBus, SubscriptionSpec};
use orderflow_app::ports::{EventStore, Position, SystemClock};
use orderflow_app::push::{PushPublisher, PushUpdateIntegrationMessage};
use orderflow_app::subscription::EventHandler;
use orderflow_app::{Actor, Mediator, RequestContext};
use orderflow_bus::{InProcessBus, InProcessConfig};
use orderflow_domain::{RawOrder, UserId};
use orderflow_store::SqliteEventStore;

fn context(user: &str, is_admin: bool) -> RequestContext {
    RequestContext::new(Actor {
        user_id: UserId::parse(user).unwrap(),
        is_admin,
        is_buyer: !is_admin,
    })
}

async fn next_push(subscription: &mut orderflow_app::ports::QueueSubscription) -> BTreeSet<String> {
    let delivery = tokio::time::timeout(Duration::from_secs(5), subscription.next())
        .await
        .expect("a push update")
        .unwrap();
    let message: PushUpdateIntegrationMessage = delivery.message.decode().unwrap();
    delivery.ack().await.unwrap();
    message.subscriber_ids.into_iter().collect()
}

#[tokio::test]
async fn a_confirmation_reaches_the_buyer_and_every_earlier_subscriber() {
    let directory = tempfile::tempdir().unwrap();
    let store = SqliteEventStore::open(directory.path().join("events.sqlite"))
        .await
        .unwrap();
    let store: Arc<dyn EventStore> = Arc::new(store);
    let bus: Arc<dyn MessageBus> = Arc::new(InProcessBus::new(InProcessConfig::default()));
    let mut pushes = bus
        .subscribe(SubscriptionSpec::exclusive("test", &["push-update.#"]))
        .await
        .unwrap();
    let mediator = Mediator::new(OrderHandlers::new(store.clone(), Arc::new(SystemClock)));
    let order: RawOrder = serde_json::from_value(serde_json::json!({"currency":"EUR","items":[{"sku":"SKU-1","name":"Coffee beans","quantity":2,"unitPrice":"12.50"}]})).unwrap();
    let placed = mediator
        .send(&context("alice", false), PlaceOrderRequest { order })
        .await
        .unwrap();
    let order_id = placed.order.id();
    mediator
        .send(
            &context("alice", false),
            SubscribeToOrderRequest {
                order_id,
                subscriber_id: "carol".into(),
            },
        )
        .await
        .unwrap();
    mediator
        .send(&context("admin", true), ConfirmOrderRequest { order_id })
        .await
        .unwrap();
    let events = store.read_all(Position::START, 100).await.unwrap();
    let expected: BTreeSet<String> = ["alice".to_owned(), "carol".to_owned()].into();

    // Followed from the creation.
    let mut following = PushPublisher::new(store.clone(), bus.clone());
    following.handle(&events).await.unwrap();
    assert_eq!(next_push(&mut pushes).await, expected);

    // Met at the confirmation only: folded from the stream.
    let confirmation = events.last().unwrap().clone();
    assert_eq!(confirmation.event_type, "OrderConfirmed");
    let mut meeting = PushPublisher::new(store.clone(), bus.clone());
    meeting.handle(&[confirmation]).await.unwrap();
    assert_eq!(next_push(&mut pushes).await, expected);
}
