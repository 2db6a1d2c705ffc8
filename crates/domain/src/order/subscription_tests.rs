//! Subscriptions: bounded, well-formed ids, pending orders only, repeats harmless.

use crate::testing::{NOW, created, given, order_id, user};
use crate::{
    AddSubscription, MAX_SUBSCRIBERS, OrderError, OrderEvent, OrderId, OrderStatus, UserId,
};

fn subscribe(id: OrderId, subscriber: &str) -> AddSubscription {
    AddSubscription {
        order_id: id,
        subscriber_id: UserId::parse(subscriber).unwrap(),
    }
}

fn added(id: OrderId, subscriber: &str) -> OrderEvent {
    OrderEvent::OrderSubscriptionAdded {
        order_id: id,
        subscriber_id: user(subscriber),
    }
}

/// An order of alice followed by `count` subscribers besides her.
fn followed_by(id: OrderId, count: usize) -> Vec<OrderEvent> {
    let mut history = created(id, "alice");
    history.extend((0..count).map(|n| added(id, &format!("user-{n}"))));
    history
}

#[test]
fn an_order_takes_subscribers_up_to_the_limit_and_then_refuses_new_ones() {
    let id = order_id(1);
    // The buyer is the first subscriber.
    given(followed_by(id, MAX_SUBSCRIBERS - 2))
        .when(subscribe(id, "last-one"))
        .then(vec![added(id, "last-one")]);
    given(followed_by(id, MAX_SUBSCRIBERS - 1))
        .when(subscribe(id, "one-too-many"))
        .then_error(OrderError::TooManySubscribers {
            max: MAX_SUBSCRIBERS,
        });
    // Someone already following is no new subscriber: a retry still succeeds.
    given(followed_by(id, MAX_SUBSCRIBERS - 1))
        .when(subscribe(id, "user-3"))
        .then_nothing();
}

#[test]
fn a_confirmed_or_cancelled_order_takes_no_new_subscribers() {
    let id = order_id(1);
    let closing = [
        (
            OrderEvent::OrderConfirmed {
                order_id: id,
                confirmed_at: NOW,
            },
            OrderStatus::Confirmed,
        ),
        (
            OrderEvent::OrderCancelled {
                order_id: id,
                reason: None,
                cancelled_at: NOW,
            },
            OrderStatus::Cancelled,
        ),
    ];
    for (closed, status) in closing {
        let mut history = created(id, "alice");
        history.push(closed);
        given(history.clone())
            .when(subscribe(id, "bob"))
            .then_error(OrderError::Closed { status });
        given(history).when(subscribe(id, "alice")).then_nothing();
    }
}

#[test]
fn a_subscriber_id_must_look_like_an_oidc_subject() {
    let id = order_id(1);
    for subscriber in ["has space", "café", "tab\u{a0}nbsp", &"a".repeat(256)] {
        let Ok(subscriber_id) = UserId::parse(subscriber) else {
            continue;
        };
        given(created(id, "alice"))
            .when(AddSubscription {
                order_id: id,
                subscriber_id,
            })
            .then_error_matching(|error| {
                matches!(error, OrderError::Validation(errors)
                    if errors.errors()[0].path == "subscriberId"
                        && errors.errors()[0].code == "invalid_subscriber_id")
            });
    }
    for subscriber in [
        "0190f0c2-7c4e-7b7a-9a1e-2b8d1c3e4f50",
        "auth0|5f7c8ec7c33c6c004bbafe82",
        &"a".repeat(255),
    ] {
        given(created(id, "alice"))
            .when(subscribe(id, subscriber))
            .then(vec![added(id, subscriber)]);
    }
}
