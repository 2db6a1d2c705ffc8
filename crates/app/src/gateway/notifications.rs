//! The gateway's notification consumer: turns each
//! `OrderCreatedIntegrationEvent` into an `order-created` push update for
//! the buyer, published to the bus for the push hubs.
//!
//! Guarantees: the push message id is derived from the integration event's
//! id, so a redelivered event republishes the same id and hubs push it once.
//! The delivery is acknowledged only after the broker confirmed the push.

use std::sync::Arc;

use async_trait::async_trait;

use crate::TraceContext;
use crate::integration::messages::{ORDER_CREATED_KIND, OrderCreatedIntegrationEvent};
use crate::messaging::{Handled, MessageHandler};
use crate::ports::bus::{Delivery, Message, MessagePublisher};
use crate::push::{
    PUSH_UPDATE_MESSAGE_KIND, PUSH_UPDATE_ROUTING_PREFIX, PushUpdateIntegrationMessage,
    PushUpdatePayload,
};

/// Namespace of push message ids derived from integration event ids.
const NOTIFICATION_IDS: uuid::Uuid =
    uuid::Uuid::from_u128(0x6f72_6465_722d_6372_6561_7465_642d_7075);

/// Publishes `order-created` push updates.
#[derive(Debug, Clone)]
pub struct OrderCreatedNotifier {
    bus: Arc<dyn MessagePublisher>,
}

impl OrderCreatedNotifier {
    pub fn new(bus: Arc<dyn MessagePublisher>) -> Self {
        OrderCreatedNotifier { bus }
    }
}

#[async_trait]
impl MessageHandler for OrderCreatedNotifier {
    async fn handle(&self, delivery: &Delivery) -> Handled {
        if delivery.message.kind != ORDER_CREATED_KIND {
            return Handled::Done;
        }
        let event: OrderCreatedIntegrationEvent = match delivery.message.decode() {
            Ok(event) => event,
            Err(error) => return Handled::Poison(error.to_string()),
        };
        let push = PushUpdateIntegrationMessage {
            message_id: uuid::Uuid::new_v5(&NOTIFICATION_IDS, event.message_id.as_bytes()),
            subscriber_ids: vec![event.buyer_id.clone()],
            payload: PushUpdatePayload::OrderCreated {
                order_id: event.order_id.to_string(),
            },
        };
        let routing_key = format!("{PUSH_UPDATE_ROUTING_PREFIX}{}", push.payload.type_name());
        let message = match Message::json(PUSH_UPDATE_MESSAGE_KIND, routing_key, &push) {
            Ok(message) => message
                .with_id(push.message_id)
                .with_trace_context(&TraceContext::current()),
            Err(error) => return Handled::Poison(error.to_string()),
        };
        let message = match delivery.message.correlation_id {
            Some(correlation_id) => message.with_correlation_id(correlation_id),
            None => message,
        };
        match self.bus.publish(message).await {
            Ok(()) => Handled::Done,
            Err(error) => Handled::Retry(error.to_string()),
        }
    }
}
