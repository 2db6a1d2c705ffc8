//! The integration event publisher: an event-store subscription handler that
//! announces every created, confirmed and cancelled order to the bus as an
//! integration event, and returns only once the broker has confirmed the
//! batch — the outbox: the subscription's checkpoint moves only after that,
//! so a stored order is always, eventually, announced. The message id is
//! derived from the event id, so a replay republishes the same ids and
//! consumers drop the repeats.

use std::sync::Arc;

use crate::recorded::decode_order_event;
use async_trait::async_trait;

use super::messages::OrderIntegrationEvent;
use crate::TraceContext;
use crate::ports::RecordedEvent;
use crate::ports::bus::{Message, MessagePublisher};
use crate::subscription::{EventHandler, EventSpans, HandlerError};

/// Namespace of integration message ids derived from event ids.
const INTEGRATION_MESSAGE_IDS: uuid::Uuid =
    uuid::Uuid::from_u128(0x696e_7465_6772_6174_696f_6e2d_6576_7473);

/// Publishes `Order…IntegrationEvent`s from the event store.
#[derive(Clone)]
pub struct IntegrationEventPublisher {
    bus: Arc<dyn MessagePublisher>,
}

impl std::fmt::Debug for IntegrationEventPublisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IntegrationEventPublisher")
            .finish_non_exhaustive()
    }
}

impl IntegrationEventPublisher {
    /// The subscription name its checkpoint is stored under.
    pub const SUBSCRIPTION: &'static str = "integration-events";

    pub fn new(bus: Arc<dyn MessagePublisher>) -> Self {
        IntegrationEventPublisher { bus }
    }

    /// The message announcing `event`, if it is announced, made in its span.
    fn message_for<'a>(
        event: &'a RecordedEvent,
        spans: &mut EventSpans<'a>,
    ) -> Result<Option<Message>, HandlerError> {
        let decoded = decode_order_event(event).map_err(HandlerError::of)?;
        let message_id = uuid::Uuid::new_v5(&INTEGRATION_MESSAGE_IDS, event.id.as_bytes());
        let Some(integration) = OrderIntegrationEvent::of(&decoded, message_id, event.revision)
        else {
            return Ok(None);
        };
        let body = integration.to_json().map_err(HandlerError::of)?;
        let span = spans.span_for(event);
        let message = Message::new(integration.kind(), integration.routing_key(), body)
            .with_id(integration.message_id())
            .with_correlation_id(event.metadata.correlation_id)
            .with_trace_context(&TraceContext::of_span(&span));
        Ok(Some(message))
    }
}

#[async_trait]
impl EventHandler for IntegrationEventPublisher {
    async fn handle(&mut self, events: &[RecordedEvent]) -> Result<(), HandlerError> {
        let mut messages = Vec::new();
        // Spans for the announced events, open until the broker confirmed the batch.
        let mut spans = EventSpans::new(Self::SUBSCRIPTION);
        for event in events {
            if let Some(message) = Self::message_for(event, &mut spans)? {
                messages.push(message);
            }
        }
        if messages.is_empty() {
            return Ok(());
        }
        let published = self
            .bus
            .publish_batch(messages)
            .await
            .map_err(|error| HandlerError::new("publishing integration events", error));
        drop(spans);
        published
    }
}
