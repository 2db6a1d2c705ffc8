//! The stored form: round trips, the exact JSON shapes, decode errors, and an upcast through
//! `decode_with`.

use serde_json::{Value, json};
use time::macros::datetime;

use crate::event::{EventDecodeError, OrderEvent, Upcaster};
use crate::testing::{NOW, created, order_id, user};

fn every_variant() -> Vec<OrderEvent> {
    let id = order_id(7);
    let mut events = created(id, "alice");
    events.extend([
        OrderEvent::OrderConfirmed {
            order_id: id,
            confirmed_at: datetime!(2026-01-02 03:04:05.123456789 UTC),
        },
        OrderEvent::OrderCancelled {
            order_id: id,
            reason: Some("out of stock".into()),
            cancelled_at: NOW,
        },
        OrderEvent::OrderCancelled {
            order_id: id,
            reason: None,
            cancelled_at: NOW,
        },
    ]);
    events
}

fn decode(event_type: &str, version: u16, data: Value) -> Result<OrderEvent, EventDecodeError> {
    OrderEvent::decode(event_type, version, &data)
}

#[test]
fn every_event_round_trips_through_its_stored_form() {
    for event in every_variant() {
        let decoded = decode(event.event_type(), event.schema_version(), event.to_json());
        assert_eq!(decoded, Ok(event));
    }
}

#[test]
fn every_event_type_is_at_version_1() {
    for event in every_variant() {
        assert_eq!(event.schema_version(), 1, "{}", event.event_type());
    }
}

#[test]
fn order_created_is_stored_with_minor_units_and_rfc3339_time() {
    let id = order_id(7);
    let events = created(id, "alice");
    assert_eq!(events[0].event_type(), "OrderCreated");
    assert_eq!(
        events[0].to_json(),
        json!({
            "orderId": id.to_string(),
            "buyerId": "alice",
            "currency": "EUR",
            "lines": [
                {"sku": "COFFEE-1", "name": "Item COFFEE-1", "quantity": 2, "unitPriceMinor": 1250},
                {"sku": "TEA-1", "name": "Item TEA-1", "quantity": 1, "unitPriceMinor": 300}
            ],
            "totalMinor": 2800,
            "createdAt": "2026-01-02T03:04:05Z"
        })
    );
    assert_eq!(events[1].event_type(), "OrderSubscriptionAdded");
    assert_eq!(
        events[1].to_json(),
        json!({"orderId": id.to_string(), "subscriberId": "alice"})
    );
}

#[test]
fn confirmed_and_cancelled_are_stored_with_their_timestamps() {
    let id = order_id(7);
    let confirmed = OrderEvent::OrderConfirmed {
        order_id: id,
        confirmed_at: NOW,
    };
    assert_eq!(confirmed.event_type(), "OrderConfirmed");
    assert_eq!(
        confirmed.to_json(),
        json!({"orderId": id.to_string(), "confirmedAt": "2026-01-02T03:04:05Z"})
    );
    let cancelled = OrderEvent::OrderCancelled {
        order_id: id,
        reason: None,
        cancelled_at: NOW,
    };
    assert_eq!(cancelled.event_type(), "OrderCancelled");
    assert_eq!(
        cancelled.to_json(),
        json!({"orderId": id.to_string(), "reason": null, "cancelledAt": "2026-01-02T03:04:05Z"})
    );
}

#[test]
fn non_utc_timestamps_are_stored_in_utc() {
    let event = OrderEvent::OrderConfirmed {
        order_id: order_id(7),
        confirmed_at: datetime!(2026-01-02 05:04:05 +02:00),
    };
    assert_eq!(
        event.to_json()["confirmedAt"],
        json!("2026-01-02T03:04:05Z")
    );
}

#[test]
fn a_missing_reason_reads_as_none() {
    let body = json!({"orderId": order_id(7).to_string(), "cancelledAt": "2026-01-02T03:04:05Z"});
    let event = decode("OrderCancelled", 1, body).unwrap();
    assert!(matches!(
        event,
        OrderEvent::OrderCancelled { reason: None, .. }
    ));
}

#[test]
fn an_unknown_event_type_is_refused() {
    assert_eq!(
        decode("OrderShipped", 1, json!({})),
        Err(EventDecodeError::UnknownType {
            event_type: "OrderShipped".into()
        })
    );
}

#[test]
fn a_version_newer_than_the_code_is_refused() {
    let event = &every_variant()[0];
    let result = decode(event.event_type(), 2, event.to_json());
    assert_eq!(
        result,
        Err(EventDecodeError::FutureVersion {
            event_type: "OrderCreated".into(),
            version: 2,
            current: 1
        })
    );
}

#[test]
fn a_version_without_upcaster_is_refused() {
    let result = decode("OrderConfirmed", 0, json!({}));
    assert!(matches!(
        result,
        Err(EventDecodeError::MissingUpcaster {
            from_version: 0,
            ..
        })
    ));
}

#[test]
fn bad_bodies_are_refused_with_the_reason() {
    let id = order_id(7).to_string();
    let mut created = every_variant()[0].to_json();
    created["totalMinor"] = json!(-5);
    let mut float_price = every_variant()[0].to_json();
    float_price["lines"][0]["unitPriceMinor"] = json!(12.5);
    let bodies = [
        ("OrderCreated", created),
        ("OrderCreated", float_price),
        ("OrderConfirmed", json!({"orderId": id})),
        (
            "OrderConfirmed",
            json!({"orderId": id, "confirmedAt": "yesterday"}),
        ),
        (
            "OrderSubscriptionAdded",
            json!({"orderId": id, "subscriberId": ""}),
        ),
        (
            "OrderSubscriptionAdded",
            json!({"orderId": "nope", "subscriberId": "bob"}),
        ),
        ("OrderCancelled", json!("not an object")),
    ];
    for (event_type, body) in bodies {
        let result = decode(event_type, 1, body.clone());
        assert!(
            matches!(&result, Err(EventDecodeError::InvalidBody { .. })),
            "{event_type} {body}: {result:?}"
        );
    }
}

/// An example of the plug-in point: suppose `OrderConfirmed` had an older, version 0 body
/// `{"order": ..., "at": ...}`. One upcaster lifts it to version 1 and the same `decode` path
/// reads it. In production the step would go into `UPCASTERS`.
#[test]
fn an_old_body_is_upcast_before_it_is_read() {
    fn confirmed_v0_to_v1(data: Value) -> Result<Value, EventDecodeError> {
        let field = |name: &str| {
            data.get(name)
                .cloned()
                .ok_or_else(|| EventDecodeError::UpcastFailed {
                    event_type: "OrderConfirmed".into(),
                    from_version: 0,
                    reason: format!("`{name}` is missing"),
                })
        };
        Ok(json!({"orderId": field("order")?, "confirmedAt": field("at")?}))
    }
    let upcasters = [Upcaster {
        event_type: "OrderConfirmed",
        from_version: 0,
        upcast: confirmed_v0_to_v1,
    }];
    let id = order_id(7);
    let old_body = json!({"order": id.to_string(), "at": "2026-01-02T03:04:05Z"});

    let event = OrderEvent::decode_with(&upcasters, "OrderConfirmed", 0, &old_body);
    assert_eq!(
        event,
        Ok(OrderEvent::OrderConfirmed {
            order_id: id,
            confirmed_at: NOW
        })
    );
    let broken = OrderEvent::decode_with(&upcasters, "OrderConfirmed", 0, &json!({}));
    assert!(matches!(broken, Err(EventDecodeError::UpcastFailed { .. })));
    // Without the step, the production decoder refuses the old body instead of misreading it.
    assert!(matches!(
        OrderEvent::decode("OrderConfirmed", 0, &old_body),
        Err(EventDecodeError::MissingUpcaster { .. })
    ));
}

#[test]
fn the_order_id_of_every_event_is_known() {
    for event in every_variant() {
        assert_eq!(event.order_id(), order_id(7));
    }
    assert_eq!(user("alice").as_str(), "alice");
}
