//! The order use cases through the mediator, over the real SQLite event
//! store and a fixed clock: what placing appends and answers, who may do
//! what (role checks and ownership), the domain's conflicts, idempotency
//! keys, and how a write that loses a race to a concurrent change decides
//! again from a fresh load (three tries, then a conflict).

use std::sync::Arc;

use orderflow_app::orders::{
    CancelOrderRequest, ConfirmOrderRequest, GetOrderRequest, OrderChange, OrderHandlers,
    PlaceOrderRequest, SubscribeToOrderRequest,
};
use orderflow_app::ports::{EventStore, Position};
use orderflow_app::{AppError, Mediator, RequestContext};
use orderflow_domain::{OrderError, OrderEvent, OrderId, OrderStatus};
use uuid::Uuid;

use crate::racing::{RacingStore, rival};
use crate::support::{
    FixedClock, TestStore, admin, buyer, coffee, context, context_with_key, events_of, head, user,
};

type Orders = Mediator<OrderHandlers>;

fn mediator(store: Arc<dyn EventStore>) -> Orders {
    Mediator::new(OrderHandlers::new(store, Arc::new(FixedClock)))
}

/// The order use cases over an empty store of their own.
async fn fresh() -> (TestStore, Orders) {
    let test = TestStore::open().await;
    let orders = mediator(test.store.clone());
    (test, orders)
}

/// Places a two-bag order as `context`'s buyer; returns its id.
async fn place(orders: &Orders, context: &RequestContext) -> OrderId {
    let placed = orders
        .send(context, PlaceOrderRequest { order: coffee(2) })
        .await
        .unwrap();
    placed.order.id()
}

fn confirm(order_id: OrderId) -> ConfirmOrderRequest {
    ConfirmOrderRequest { order_id }
}

fn assert_conflict(result: Result<impl std::fmt::Debug, AppError>, expected_code: &str) {
    match result {
        Err(AppError::Conflict { code, .. }) => assert_eq!(code, expected_code),
        other => panic!("expected a {expected_code} conflict, got {other:?}"),
    }
}

#[tokio::test]
async fn placing_an_order_appends_it_with_the_buyers_subscription_and_answers_the_position() {
    // Given an empty event store
    let (test, orders) = fresh().await;

    // When alice places an order
    let placed = orders
        .send(
            &context(buyer("alice")),
            PlaceOrderRequest { order: coffee(2) },
        )
        .await
        .unwrap();

    // Then its stream holds OrderCreated, then alice's subscription to it
    let order_id = placed.order.id();
    let events = events_of(test.store.as_ref(), order_id).await;
    assert_eq!(events.len(), 2, "{events:?}");
    assert!(
        matches!(&events[0], OrderEvent::OrderCreated { buyer_id, created_at, .. }
            if *buyer_id == user("alice") && *created_at == FixedClock::NOW),
        "{events:?}"
    );
    assert!(
        matches!(&events[1], OrderEvent::OrderSubscriptionAdded { subscriber_id, .. }
            if *subscriber_id == user("alice")),
        "{events:?}"
    );
    // and the answer is the pending order at the position of its last event
    assert_eq!(placed.order.status(), OrderStatus::Pending);
    assert_eq!(placed.order.buyer_id(), &user("alice"));
    assert_eq!(placed.position, Some(Position::new(2)));
    assert_eq!(head(test.store.as_ref()).await, Position::new(2));
}

#[tokio::test]
async fn someone_who_is_not_a_buyer_cannot_place_an_order() {
    // Given an admin without the buyer role
    let (test, orders) = fresh().await;

    // When they place an order
    let placed = orders
        .send(
            &context(admin("root")),
            PlaceOrderRequest { order: coffee(1) },
        )
        .await;

    // Then it is forbidden and nothing is stored
    assert!(matches!(placed, Err(AppError::Forbidden(_))), "{placed:?}");
    assert_eq!(head(test.store.as_ref()).await, Position::START);
}

#[tokio::test]
async fn someone_who_is_not_an_admin_cannot_confirm_even_their_own_order() {
    // Given alice's order
    let (test, orders) = fresh().await;
    let order_id = place(&orders, &context(buyer("alice"))).await;

    // When alice confirms it
    let confirmed = orders
        .send(&context(buyer("alice")), confirm(order_id))
        .await;

    // Then it is forbidden and the order stays pending
    assert!(
        matches!(confirmed, Err(AppError::Forbidden(_))),
        "{confirmed:?}"
    );
    assert_eq!(events_of(test.store.as_ref(), order_id).await.len(), 2);
}

#[tokio::test]
async fn another_buyers_order_is_not_found_to_get_cancel_or_subscribe_to() {
    // Given alice's order
    let (test, orders) = fresh().await;
    let order_id = place(&orders, &context(buyer("alice"))).await;
    let bob = context(buyer("bob"));

    // When bob reads, cancels or subscribes to it
    let got = orders.send(&bob, GetOrderRequest { order_id }).await;
    let cancelled = orders
        .send(
            &bob,
            CancelOrderRequest {
                order_id,
                reason: None,
            },
        )
        .await;
    let subscribed = orders
        .send(
            &bob,
            SubscribeToOrderRequest {
                order_id,
                subscriber_id: "bob".into(),
            },
        )
        .await;

    // Then to him it does not exist, and it is unchanged
    assert!(matches!(got, Err(AppError::NotFound)), "{got:?}");
    assert!(
        matches!(cancelled, Err(AppError::NotFound)),
        "{cancelled:?}"
    );
    assert!(
        matches!(subscribed, Err(AppError::NotFound)),
        "{subscribed:?}"
    );
    assert_eq!(events_of(test.store.as_ref(), order_id).await.len(), 2);
}

#[tokio::test]
async fn another_buyer_confirming_is_forbidden_whether_or_not_the_order_exists() {
    // Given alice's order
    let (test, orders) = fresh().await;
    let order_id = place(&orders, &context(buyer("alice"))).await;
    let missing = OrderId::from_uuid(Uuid::now_v7()).unwrap();

    // When bob confirms it, and an order that does not exist
    let bob = context(buyer("bob"));
    let existing = orders.send(&bob, confirm(order_id)).await;
    let absent = orders.send(&bob, confirm(missing)).await;

    // Then both are refused alike (the role check comes before any load), so
    // the answer tells nothing about alice's order
    assert!(
        matches!(existing, Err(AppError::Forbidden(_))),
        "{existing:?}"
    );
    assert!(matches!(absent, Err(AppError::Forbidden(_))), "{absent:?}");
    assert_eq!(events_of(test.store.as_ref(), order_id).await.len(), 2);
}

#[tokio::test]
async fn confirming_an_order_that_does_not_exist_is_not_found() {
    let (test, orders) = fresh().await;
    let missing = OrderId::from_uuid(Uuid::now_v7()).unwrap();

    let confirmed = orders.send(&context(admin("root")), confirm(missing)).await;

    assert!(
        matches!(confirmed, Err(AppError::NotFound)),
        "{confirmed:?}"
    );
    assert_eq!(head(test.store.as_ref()).await, Position::START);
}

#[tokio::test]
async fn confirming_an_already_confirmed_order_is_a_conflict() {
    // Given an order an admin has confirmed
    let (test, orders) = fresh().await;
    let order_id = place(&orders, &context(buyer("alice"))).await;
    let root = context(admin("root"));
    let first = orders.send(&root, confirm(order_id)).await.unwrap();
    assert_eq!(first.order.status(), OrderStatus::Confirmed);
    assert_eq!(first.position, Some(Position::new(3)));

    // When it is confirmed again
    let again = orders.send(&root, confirm(order_id)).await;

    // Then that is a conflict with the domain's code, and nothing is appended
    assert_conflict(again, OrderError::AlreadyConfirmed.code());
    assert_eq!(head(test.store.as_ref()).await, Position::new(3));
}

#[tokio::test]
async fn placing_again_with_the_same_idempotency_key_replays_the_first_outcome() {
    // Given an order placed with an idempotency key
    let (test, orders) = fresh().await;
    let request = PlaceOrderRequest { order: coffee(2) };
    let keyed = context_with_key(buyer("alice"), "retry-1");
    let first = orders.send(&keyed, request.clone()).await.unwrap();

    // When the same request is sent again with the same key
    let retry = context_with_key(buyer("alice"), "retry-1");
    let replayed = orders.send(&retry, request).await.unwrap();

    // Then the answer is the first one, and nothing more is stored
    assert_eq!(replayed.order.id(), first.order.id());
    assert_eq!(replayed.position, first.position);
    assert_eq!(replayed.order.lines(), first.order.lines());
    assert_eq!(head(test.store.as_ref()).await, Position::new(2));
}

#[tokio::test]
async fn the_same_idempotency_key_with_another_body_is_refused() {
    // Given an order of two bags placed with an idempotency key
    let (test, orders) = fresh().await;
    let keyed = context_with_key(buyer("alice"), "retry-1");
    let first = orders
        .send(&keyed, PlaceOrderRequest { order: coffee(2) })
        .await
        .unwrap();

    // When an order of five bags is sent under the same key
    let reused = context_with_key(buyer("alice"), "retry-1");
    let refused = orders
        .send(&reused, PlaceOrderRequest { order: coffee(5) })
        .await;

    // Then it is refused and the first order is unchanged
    assert!(
        matches!(refused, Err(AppError::IdempotencyKeyReused)),
        "{refused:?}"
    );
    let stored = orders
        .send(
            &context(buyer("alice")),
            GetOrderRequest {
                order_id: first.order.id(),
            },
        )
        .await
        .unwrap();
    assert_eq!(stored.lines(), first.order.lines());
    assert_eq!(head(test.store.as_ref()).await, Position::new(2));
}

/// Places an order, then confirms it over a store where the confirm loses
/// `races` races; answers the confirm's result, the store, and the order.
async fn confirm_losing_races(
    races: usize,
) -> (
    Result<OrderChange, AppError>,
    Arc<RacingStore>,
    OrderId,
    TestStore,
) {
    let test = TestStore::open().await;
    let racing = Arc::new(RacingStore::new(test.store.clone(), races));
    let orders = mediator(racing.clone());
    let order_id = place(&orders, &context(buyer("alice"))).await;
    let confirmed = orders
        .send(&context(admin("root")), confirm(order_id))
        .await;
    (confirmed, racing, order_id, test)
}

/// The subscribers the rivals added, in stream order.
fn rivals_in(events: &[OrderEvent]) -> Vec<String> {
    events
        .iter()
        .filter_map(|event| match event {
            OrderEvent::OrderSubscriptionAdded { subscriber_id, .. }
                if subscriber_id.as_str().starts_with("rival-") =>
            {
                Some(subscriber_id.as_str().to_owned())
            }
            _ => None,
        })
        .collect()
}

async fn assert_confirmed_after_losing(races: usize) {
    // Given a confirm whose first `races` appends lose to a concurrent subscription
    let (confirmed, racing, order_id, test) = confirm_losing_races(races).await;

    // Then it decided again from a fresh load and succeeded on the next try
    let confirmed = confirmed.unwrap();
    assert_eq!(racing.exact_appends(), races + 1);
    assert_eq!(confirmed.order.status(), OrderStatus::Confirmed);
    // and the concurrent subscriptions are kept, before the confirmation
    let events = events_of(test.store.as_ref(), order_id).await;
    let expected_rivals: Vec<String> = (1..=races).map(rival).collect();
    assert_eq!(rivals_in(&events), expected_rivals);
    assert_eq!(events.len(), 2 + races + 1, "{events:?}");
    assert!(
        matches!(events.last(), Some(OrderEvent::OrderConfirmed { .. })),
        "{events:?}"
    );
    assert_eq!(confirmed.position, Some(head(test.store.as_ref()).await));
    for rival in &expected_rivals {
        assert!(confirmed.order.is_subscribed(&user(rival)), "{rival}");
    }
}

#[tokio::test]
async fn a_confirm_that_loses_one_race_decides_again_and_succeeds() {
    assert_confirmed_after_losing(1).await;
}

#[tokio::test]
async fn a_confirm_that_loses_two_races_decides_again_and_succeeds() {
    assert_confirmed_after_losing(2).await;
}

#[tokio::test]
async fn a_confirm_that_loses_every_race_is_a_concurrent_modification_conflict() {
    // Given a confirm whose three tries all lose to a concurrent subscription
    let (confirmed, racing, order_id, test) = confirm_losing_races(3).await;

    // Then it gave up after three tries with a conflict
    assert_conflict(confirmed, "concurrent_modification");
    assert_eq!(racing.exact_appends(), 3);
    // and the order is still pending, with every concurrent change kept
    let events = events_of(test.store.as_ref(), order_id).await;
    assert_eq!(rivals_in(&events), [rival(1), rival(2), rival(3)]);
    assert!(
        !events
            .iter()
            .any(|event| matches!(event, OrderEvent::OrderConfirmed { .. })),
        "{events:?}"
    );
}
