//! The Order aggregate's rules, as given events / when command / then events or error.

use std::collections::BTreeSet;

use time::macros::datetime;

use crate::testing::{NOW, create_order, created, given, order_id, raw_line, raw_order, user};
use crate::{
    AddSubscription, CancelOrder, ConfirmOrder, CreateOrder, Currency, ErrorKind, ItemName, Money,
    OrderError, OrderEvent, OrderLine, OrderStatus, Quantity, Sku, decide, evolve, fold,
};

fn line(price_minor: i64, currency: Currency, quantity: i64) -> OrderLine {
    OrderLine {
        sku: Sku::parse("SKU-1").unwrap(),
        name: ItemName::parse("Thing").unwrap(),
        quantity: Quantity::parse(quantity).unwrap(),
        unit_price: Money::from_minor_units(price_minor, currency).unwrap(),
    }
}

fn create_with_lines(lines: Vec<OrderLine>) -> CreateOrder {
    CreateOrder {
        order_id: order_id(1),
        buyer_id: user("alice"),
        currency: Currency::EUR,
        lines,
    }
}

fn confirmed(id: crate::OrderId) -> OrderEvent {
    OrderEvent::OrderConfirmed {
        order_id: id,
        confirmed_at: NOW,
    }
}

fn cancelled(id: crate::OrderId) -> OrderEvent {
    OrderEvent::OrderCancelled {
        order_id: id,
        reason: None,
        cancelled_at: NOW,
    }
}

fn history(events: impl IntoIterator<Item = Vec<OrderEvent>>) -> Vec<OrderEvent> {
    events.into_iter().flatten().collect()
}

#[test]
fn creating_an_order_emits_order_created_then_the_buyers_subscription() {
    let id = order_id(1);
    let command = create_order(id, "alice");
    let total = Money::from_minor_units(2800, Currency::EUR).unwrap();
    given([]).when(command.clone()).then([
        OrderEvent::OrderCreated {
            order_id: id,
            buyer_id: user("alice"),
            currency: Currency::EUR,
            lines: command.lines,
            total,
            created_at: NOW,
        },
        OrderEvent::OrderSubscriptionAdded {
            order_id: id,
            subscriber_id: user("alice"),
        },
    ]);
}

#[test]
fn creating_an_existing_order_is_rejected() {
    let id = order_id(1);
    given(created(id, "alice"))
        .when(create_order(id, "alice"))
        .then_error(OrderError::AlreadyExists);
}

#[test]
fn creating_an_order_with_100_lines_is_accepted() {
    let command = create_with_lines(vec![line(100, Currency::EUR, 1); 100]);
    let events = given([]).when(command).result().unwrap();
    assert_eq!(events.len(), 2);
}

#[test]
fn creating_an_order_with_no_lines_or_101_lines_is_rejected_again_by_decide() {
    let codes = |lines| match given([]).when(create_with_lines(lines)).result() {
        Err(OrderError::Validation(errors)) => errors
            .errors()
            .iter()
            .map(|e| (e.path.clone(), e.code))
            .collect::<Vec<_>>(),
        other => panic!("unexpected outcome: {other:?}"),
    };
    assert_eq!(codes(vec![]), [("items".to_owned(), "too_few_items")]);
    let too_many = vec![line(100, Currency::EUR, 1); 101];
    assert_eq!(codes(too_many), [("items".to_owned(), "too_many_items")]);
}

#[test]
fn creating_an_order_with_a_line_in_another_currency_is_rejected() {
    let lines = vec![line(100, Currency::EUR, 1), line(100, Currency::USD, 1)];
    given([])
        .when(create_with_lines(lines))
        .then_error_matching(|error| match error {
            OrderError::Validation(errors) => {
                errors.errors()[0].path == "items/1/unitPrice"
                    && errors.errors()[0].code == "currency_mismatch"
            }
            _ => false,
        });
}

#[test]
fn creating_an_order_whose_total_overflows_is_rejected() {
    let lines = vec![line(i64::MAX / 2, Currency::EUR, 10)];
    given([])
        .when(create_with_lines(lines))
        .then_error(OrderError::TotalOverflow);
}

#[test]
fn the_order_total_is_the_sum_of_quantity_times_unit_price() {
    let raw = raw_order(
        "EUR",
        vec![raw_line("A", 3, "0.99"), raw_line("B", 1, "10")],
    );
    let command = CreateOrder::parse(order_id(1), user("alice"), raw).unwrap();
    let order = fold(&given([]).when(command).result().unwrap()).unwrap();
    assert_eq!(order.total().minor_units(), 1297);
    assert_eq!(order.total().format(), "12.97");
}

#[test]
fn confirming_a_pending_order_emits_order_confirmed() {
    let id = order_id(1);
    given(created(id, "alice"))
        .when(ConfirmOrder { order_id: id })
        .then([confirmed(id)]);
}

#[test]
fn confirming_an_already_confirmed_order_is_rejected() {
    let id = order_id(1);
    given(history([created(id, "alice"), vec![confirmed(id)]]))
        .when(ConfirmOrder { order_id: id })
        .then_error(OrderError::AlreadyConfirmed);
}

#[test]
fn confirming_a_cancelled_order_is_an_invalid_transition() {
    let id = order_id(1);
    given(history([created(id, "alice"), vec![cancelled(id)]]))
        .when(ConfirmOrder { order_id: id })
        .then_error(OrderError::InvalidTransition {
            from: OrderStatus::Cancelled,
            to: OrderStatus::Confirmed,
        });
}

#[test]
fn cancelling_a_pending_order_emits_order_cancelled_with_its_reason() {
    let id = order_id(1);
    let reason = Some("changed my mind".to_owned());
    given(created(id, "alice"))
        .when(CancelOrder {
            order_id: id,
            reason: reason.clone(),
        })
        .then([OrderEvent::OrderCancelled {
            order_id: id,
            reason,
            cancelled_at: NOW,
        }]);
}

#[test]
fn cancelling_an_already_cancelled_order_is_rejected() {
    let id = order_id(1);
    given(history([created(id, "alice"), vec![cancelled(id)]]))
        .when(CancelOrder {
            order_id: id,
            reason: None,
        })
        .then_error(OrderError::AlreadyCancelled);
}

#[test]
fn cancelling_a_confirmed_order_is_an_invalid_transition() {
    let id = order_id(1);
    given(history([created(id, "alice"), vec![confirmed(id)]]))
        .when(CancelOrder {
            order_id: id,
            reason: None,
        })
        .then_error(OrderError::InvalidTransition {
            from: OrderStatus::Confirmed,
            to: OrderStatus::Cancelled,
        });
}

#[test]
fn a_cancellation_reason_of_500_characters_is_accepted_and_501_rejected() {
    let id = order_id(1);
    let cancel = |chars| CancelOrder {
        order_id: id,
        reason: Some("é".repeat(chars)),
    };
    assert!(
        given(created(id, "alice"))
            .when(cancel(500))
            .result()
            .is_ok()
    );
    given(created(id, "alice"))
        .when(cancel(501))
        .then_error_matching(|error| {
            matches!(error, OrderError::Validation(errors) if errors.errors()[0].path == "reason")
        });
}

#[test]
fn subscribing_a_new_user_emits_order_subscription_added() {
    let id = order_id(1);
    given(created(id, "alice"))
        .when(AddSubscription {
            order_id: id,
            subscriber_id: user("bob"),
        })
        .then([OrderEvent::OrderSubscriptionAdded {
            order_id: id,
            subscriber_id: user("bob"),
        }]);
}

#[test]
fn subscribing_an_existing_subscriber_adds_nothing() {
    let id = order_id(1);
    given(created(id, "alice"))
        .when(AddSubscription {
            order_id: id,
            subscriber_id: user("alice"),
        })
        .then_nothing();
}

// Subscribing to a confirmed or cancelled order: see subscription_tests.rs (refused since
// the subscription rules of issue 14).

#[test]
fn commands_on_a_missing_order_are_not_found() {
    let id = order_id(1);
    given([])
        .when(ConfirmOrder { order_id: id })
        .then_error(OrderError::NotFound);
    given([])
        .when(CancelOrder {
            order_id: id,
            reason: None,
        })
        .then_error(OrderError::NotFound);
    given([])
        .when(AddSubscription {
            order_id: id,
            subscriber_id: user("bob"),
        })
        .then_error(OrderError::NotFound);
    assert_eq!(OrderError::NotFound.kind(), ErrorKind::NotFound);
}

#[test]
fn event_timestamps_are_the_callers_clock_in_utc() {
    let id = order_id(1);
    let local = datetime!(2026-01-02 05:04:05 +02:00);
    let events = given(created(id, "alice"))
        .when_at(ConfirmOrder { order_id: id }, local)
        .result()
        .unwrap();
    let OrderEvent::OrderConfirmed { confirmed_at, .. } = events[0] else {
        panic!("unexpected event {events:?}");
    };
    assert_eq!(confirmed_at, NOW);
    assert!(confirmed_at.offset().is_utc());
}

#[test]
fn folding_the_events_rebuilds_the_order() {
    let id = order_id(1);
    let later = datetime!(2026-01-03 00:00:00 UTC);
    let events = history([
        created(id, "alice"),
        vec![
            OrderEvent::OrderSubscriptionAdded {
                order_id: id,
                subscriber_id: user("bob"),
            },
            OrderEvent::OrderConfirmed {
                order_id: id,
                confirmed_at: later,
            },
        ],
    ]);
    let order = fold(&events).unwrap();
    assert_eq!(order.id(), id);
    assert_eq!(order.buyer_id(), &user("alice"));
    assert_eq!(order.status(), OrderStatus::Confirmed);
    assert_eq!(order.lines().len(), 2);
    assert_eq!(order.total().format(), "28.00");
    let expected: BTreeSet<_> = [user("alice"), user("bob")].into();
    assert_eq!(order.subscribers(), &expected);
    assert_eq!(order.created_at(), NOW);
    assert_eq!(order.updated_at(), later);
    assert_eq!(order.version(), 4);
}

#[test]
fn a_cancelled_order_remembers_why() {
    let id = order_id(1);
    let reason = OrderEvent::OrderCancelled {
        order_id: id,
        reason: Some("out of stock".into()),
        cancelled_at: NOW,
    };
    let order = fold(&history([created(id, "alice"), vec![reason]])).unwrap();
    assert_eq!(order.status(), OrderStatus::Cancelled);
    assert_eq!(order.cancellation_reason(), Some("out of stock"));
}

#[test]
fn no_events_is_no_order() {
    assert_eq!(fold([]), None);
}

#[test]
fn decide_and_evolve_agree_on_the_stream_length() {
    let id = order_id(1);
    let mut state = None;
    let mut stream = Vec::new();
    let commands: Vec<crate::OrderCommand> = vec![
        create_order(id, "alice").into(),
        AddSubscription {
            order_id: id,
            subscriber_id: user("bob"),
        }
        .into(),
        ConfirmOrder { order_id: id }.into(),
    ];
    for command in &commands {
        let events = decide(state.as_ref(), command, NOW).unwrap();
        state = events.iter().fold(state, evolve);
        stream.extend(events);
    }
    let version = state.map(|order| order.version());
    assert_eq!(version, Some(u64::try_from(stream.len()).unwrap()));
}

#[test]
fn order_status_is_lowercase_on_the_wire() {
    for (status, text) in [
        (OrderStatus::Pending, "pending"),
        (OrderStatus::Confirmed, "confirmed"),
        (OrderStatus::Cancelled, "cancelled"),
    ] {
        assert_eq!(status.as_str(), text);
        assert_eq!(OrderStatus::parse(text), Some(status));
        assert_eq!(
            serde_json::to_value(status).unwrap(),
            serde_json::json!(text)
        );
    }
    assert_eq!(OrderStatus::parse("Pending"), None);
}

/// In release builds a misfit event is ignored (debug builds assert instead).
#[cfg(not(debug_assertions))]
#[test]
fn an_event_that_does_not_fit_is_ignored_but_counted() {
    let id = order_id(1);
    let events = history([created(id, "alice"), vec![cancelled(id), confirmed(id)]]);
    let order = fold(&events).unwrap();
    assert_eq!(order.status(), OrderStatus::Cancelled);
    assert_eq!(order.version(), 4);
    assert_eq!(fold(&[confirmed(id)]), None);
}

#[cfg(debug_assertions)]
#[test]
#[should_panic(expected = "became confirmed while cancelled")]
fn an_event_that_does_not_fit_trips_a_debug_assertion() {
    let id = order_id(1);
    fold(&history([
        created(id, "alice"),
        vec![cancelled(id), confirmed(id)],
    ]));
}
