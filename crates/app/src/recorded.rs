//! Reading recorded events back as domain events: the one place where a
//! [`RecordedEvent`] of an order stream becomes an [`OrderEvent`].
//!
//! Guarantees: [`decode_order_event`] runs the domain's upcaster chain
//! ([`OrderEvent::decode`]) and checks that the event is about the order whose
//! stream holds it. Anything else is a [`RecordedEventError`] naming the event
//! and its stream, with the cause kept as its source: corrupt data, never
//! skipped. No code outside the domain matches on event type names.

use orderflow_domain::{EventDecodeError, OrderEvent, OrderId, OrderIdError};
use uuid::Uuid;

use crate::ports::{RecordedEvent, StreamName};

/// Why a recorded event is not a readable event of its order.
#[derive(Debug, Clone, thiserror::Error)]
#[error("event {event_id} of {stream} cannot be read")]
pub struct RecordedEventError {
    pub event_id: Uuid,
    pub stream: StreamName,
    #[source]
    pub cause: RecordedEventCause,
}

/// What is wrong with a recorded event.
#[derive(Debug, Clone, thiserror::Error)]
pub enum RecordedEventCause {
    /// Its body or type does not decode (see [`OrderEvent::decode`]).
    #[error("it does not decode")]
    Decode(#[source] EventDecodeError),
    /// It is stored in a stream that is not an order's.
    #[error("its stream is not an order stream")]
    NotAnOrderStream(#[source] OrderIdError),
    /// It is about another order than the one whose stream holds it.
    #[error("it is about order {0}")]
    OtherOrder(OrderId),
}

/// The domain event `recorded` stores, checked to belong to its stream's order.
pub fn decode_order_event(recorded: &RecordedEvent) -> Result<OrderEvent, RecordedEventError> {
    let failed = |cause| RecordedEventError {
        event_id: recorded.id,
        stream: recorded.stream.clone(),
        cause,
    };
    let stream_order = OrderId::from_stream_name(recorded.stream.as_str())
        .map_err(|error| failed(RecordedEventCause::NotAnOrderStream(error)))?;
    let event = OrderEvent::decode(
        &recorded.event_type,
        recorded.schema_version,
        &recorded.data,
    )
    .map_err(|error| failed(RecordedEventCause::Decode(error)))?;
    if event.order_id() != stream_order {
        return Err(failed(RecordedEventCause::OtherOrder(event.order_id())));
    }
    Ok(event)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::{EventMetadata, Position};
    use orderflow_domain::UserId;
    use time::OffsetDateTime;

    fn recorded(stream_order: OrderId, event: &OrderEvent) -> RecordedEvent {
        RecordedEvent {
            id: Uuid::now_v7(),
            stream: StreamName::parse(stream_order.stream_name()).unwrap(),
            revision: 0,
            position: Position::new(1),
            event_type: event.event_type().to_owned(),
            schema_version: event.schema_version(),
            data: event.to_json(),
            metadata: EventMetadata {
                correlation_id: Uuid::now_v7(),
                causation_id: Uuid::now_v7(),
                user_id: None,
                occurred_at: OffsetDateTime::UNIX_EPOCH,
                trace: crate::TraceContext::none(),
            },
        }
    }

    fn subscription_added(order_id: OrderId) -> OrderEvent {
        OrderEvent::OrderSubscriptionAdded {
            order_id,
            subscriber_id: UserId::parse("alice").unwrap(),
        }
    }

    #[test]
    fn an_event_of_its_own_order_reads_back_equal() {
        let order_id = OrderId::from_uuid(Uuid::now_v7()).unwrap();
        let event = subscription_added(order_id);
        assert_eq!(
            decode_order_event(&recorded(order_id, &event)).unwrap(),
            event
        );
    }

    #[test]
    fn an_event_about_another_order_is_refused() {
        let event = subscription_added(OrderId::from_uuid(Uuid::now_v7()).unwrap());
        let error = decode_order_event(&recorded(
            OrderId::from_uuid(Uuid::now_v7()).unwrap(),
            &event,
        ))
        .unwrap_err();
        assert!(matches!(error.cause, RecordedEventCause::OtherOrder(_)));
    }

    #[test]
    fn an_unknown_type_is_refused_with_its_cause() {
        let order_id = OrderId::from_uuid(Uuid::now_v7()).unwrap();
        let mut stored = recorded(order_id, &subscription_added(order_id));
        stored.event_type = "OrderTeleported".into();
        let error = decode_order_event(&stored).unwrap_err();
        assert!(matches!(
            error.cause,
            RecordedEventCause::Decode(EventDecodeError::UnknownType { .. })
        ));
        assert!(std::error::Error::source(&error).is_some());
    }
}
