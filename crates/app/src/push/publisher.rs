//! The push publisher: an event-store subscription handler that turns order
//! events into [`PushUpdateIntegrationMessage`]s, confirmed by the broker
//! before the batch counts as handled.

use std::sync::Arc;

use async_trait::async_trait;
use orderflow_domain::{OrderEvent, OrderId, fold};

use super::message::{
    PUSH_UPDATE_MESSAGE_KIND, PUSH_UPDATE_ROUTING_PREFIX, PushUpdateIntegrationMessage,
    PushUpdatePayload,
};
use crate::ports::bus::{Message, MessagePublisher};
use crate::ports::{EventStore, RecordedEvent};
use crate::subscription::{EventHandler, HandlerError};

/// Namespace of message ids derived from event ids.
const PUSH_MESSAGE_IDS: uuid::Uuid =
    uuid::Uuid::from_u128(0x7075_7368_2d75_7064_6174_652d_6d73_6731);

/// Publishes a push update for every confirmed or cancelled order.
#[derive(Clone)]
pub struct PushPublisher {
    store: Arc<dyn EventStore>,
    bus: Arc<dyn MessagePublisher>,
}

impl std::fmt::Debug for PushPublisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PushPublisher").finish_non_exhaustive()
    }
}

impl PushPublisher {
    /// The subscription name its checkpoint is stored under.
    pub const SUBSCRIPTION: &'static str = "push-publisher";

    pub fn new(store: Arc<dyn EventStore>, bus: Arc<dyn MessagePublisher>) -> Self {
        PushPublisher { store, bus }
    }

    /// The message for `event`, or `None` for events nobody is pushed about.
    async fn message_for(&self, event: &RecordedEvent) -> Result<Option<Message>, HandlerError> {
        let make_payload: fn(String) -> PushUpdatePayload = match event.event_type.as_str() {
            "OrderConfirmed" => |order_id| PushUpdatePayload::OrderConfirmed { order_id },
            "OrderCancelled" => |order_id| PushUpdatePayload::OrderCancelled { order_id },
            _ => return Ok(None),
        };
        let Ok(order_id) = OrderId::from_stream_name(event.stream.as_str()) else {
            return Ok(None);
        };
        let subscriber_ids = self.subscribers_at(event, order_id).await?;
        let message = PushUpdateIntegrationMessage {
            message_id: uuid::Uuid::new_v5(&PUSH_MESSAGE_IDS, event.id.as_bytes()),
            subscriber_ids,
            payload: make_payload(order_id.to_string()),
        };
        let routing_key = format!(
            "{PUSH_UPDATE_ROUTING_PREFIX}{}",
            message.payload.type_name()
        );
        let published = Message::json(PUSH_UPDATE_MESSAGE_KIND, routing_key, &message)
            .map_err(|error| HandlerError(error.to_string()))?
            .with_id(message.message_id)
            .with_correlation_id(event.metadata.correlation_id);
        Ok(Some(published))
    }

    /// The order's subscribers as of `event`, and its buyer.
    async fn subscribers_at(
        &self,
        event: &RecordedEvent,
        order_id: OrderId,
    ) -> Result<Vec<String>, HandlerError> {
        let history = self
            .store
            .read_stream(&event.stream, 0, event.revision as usize + 1)
            .await
            .map_err(|error| HandlerError(error.to_string()))?;
        let events = history
            .iter()
            .map(|e| OrderEvent::decode(&e.event_type, e.schema_version, e.data.clone()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|error| HandlerError(format!("order {order_id} does not decode: {error}")))?;
        let Some(order) = fold(&events) else {
            return Err(HandlerError(format!(
                "order {order_id} has no OrderCreated"
            )));
        };
        let mut subscribers: Vec<String> = order
            .subscribers()
            .iter()
            .map(|s| s.as_str().to_owned())
            .collect();
        let buyer = order.buyer_id().as_str().to_owned();
        if !subscribers.contains(&buyer) {
            subscribers.push(buyer);
        }
        Ok(subscribers)
    }
}

#[async_trait]
impl EventHandler for PushPublisher {
    async fn handle(&mut self, events: &[RecordedEvent]) -> Result<(), HandlerError> {
        let mut messages = Vec::new();
        for event in events {
            if let Some(message) = self.message_for(event).await? {
                messages.push(message);
            }
        }
        if messages.is_empty() {
            return Ok(());
        }
        self.bus
            .publish_batch(messages)
            .await
            .map_err(|error| HandlerError(format!("publishing push updates: {error}")))
    }
}
