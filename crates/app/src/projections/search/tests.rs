//! Grouping and decoding a batch: which events the projection reads, skips or refuses.

use crate::ports::EventMetadata;
use orderflow_domain::testing::{created, order_id};
use time::OffsetDateTime;
use uuid::Uuid;

use super::*;

fn recorded(
    stream: &str,
    revision: u64,
    event_type: &str,
    data: serde_json::Value,
) -> RecordedEvent {
    RecordedEvent {
        id: Uuid::now_v7(),
        stream: StreamName::parse(stream).unwrap(),
        revision,
        position: Position::new(revision + 1),
        event_type: event_type.into(),
        schema_version: 1,
        data,
        metadata: EventMetadata {
            correlation_id: Uuid::now_v7(),
            causation_id: Uuid::now_v7(),
            user_id: None,
            occurred_at: OffsetDateTime::UNIX_EPOCH,
            trace: crate::TraceContext::none(),
        },
    }
}

fn order_event(event: &OrderEvent, revision: u64) -> RecordedEvent {
    recorded(
        &event.order_id().stream_name(),
        revision,
        event.event_type(),
        event.to_json(),
    )
}

#[test]
fn events_are_grouped_per_order_in_order_of_appearance() {
    let first = created(order_id(1), "alice");
    let second = created(order_id(2), "bob");
    let batch = [
        order_event(&first[0], 0),
        order_event(&second[0], 0),
        order_event(&first[1], 1),
        order_event(&second[1], 1),
    ];
    let orders = group_by_order(&batch).unwrap();
    let ids: Vec<OrderId> = orders.iter().map(|order| order.id).collect();
    assert_eq!(ids, [order_id(1), order_id(2)]);
    let revisions: Vec<u64> = orders[0].events.iter().map(|(_, r)| *r).collect();
    assert_eq!(revisions, [0, 1]);
}

#[test]
fn events_of_other_streams_are_skipped() {
    let batch = [recorded(
        "customer-1",
        0,
        "CustomerRegistered",
        serde_json::json!({}),
    )];
    assert!(group_by_order(&batch).unwrap().is_empty());
}

#[test]
fn an_order_event_that_does_not_decode_fails_the_batch() {
    let stream = order_id(1).stream_name();
    let unknown = [recorded(
        &stream,
        0,
        "OrderTeleported",
        serde_json::json!({}),
    )];
    assert!(matches!(
        group_by_order(&unknown),
        Err(ProjectionError::Decode(_))
    ));
    let bad_body = [recorded(
        &stream,
        0,
        "OrderConfirmed",
        serde_json::json!({}),
    )];
    assert!(group_by_order(&bad_body).is_err());
}

#[test]
fn an_event_filed_under_another_orders_stream_fails_the_batch() {
    let event = &created(order_id(1), "alice")[0];
    let misfiled = [recorded(
        &order_id(2).stream_name(),
        0,
        event.event_type(),
        event.to_json(),
    )];
    assert!(group_by_order(&misfiled).is_err());
}
