//! The push update message on the broker, as the contract names it:
//! `PushUpdateIntegrationMessage { messageId, subscriberIds[], payload }`
//! with payloads such as `OrderConfirmedPushUpdatePayload { orderId }`.
//!
//! On the wire the payload carries its `type` (`order-created`,
//! `order-confirmed`, `order-cancelled`) beside `orderId`: exactly the
//! object the hub hands to `PushUpdate`, plus the `messageId`.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The message's `kind` (AMQP `type` property).
pub const PUSH_UPDATE_MESSAGE_KIND: &str = "PushUpdateIntegrationMessage";

/// Routing keys are this prefix plus the payload type, e.g.
/// `push-update.order-confirmed`; hubs bind `push-update.#`.
pub const PUSH_UPDATE_ROUTING_PREFIX: &str = "push-update.";

/// What happened to the order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum PushUpdatePayload {
    /// `OrderCreatedPushUpdatePayload`.
    #[serde(rename_all = "camelCase")]
    OrderCreated { order_id: String },
    /// `OrderConfirmedPushUpdatePayload`.
    #[serde(rename_all = "camelCase")]
    OrderConfirmed { order_id: String },
    /// `OrderCancelledPushUpdatePayload`.
    #[serde(rename_all = "camelCase")]
    OrderCancelled { order_id: String },
}

impl PushUpdatePayload {
    /// The `type` on the wire: `order-confirmed`, …
    pub fn type_name(&self) -> &'static str {
        match self {
            PushUpdatePayload::OrderCreated { .. } => "order-created",
            PushUpdatePayload::OrderConfirmed { .. } => "order-confirmed",
            PushUpdatePayload::OrderCancelled { .. } => "order-cancelled",
        }
    }

    pub fn order_id(&self) -> &str {
        match self {
            PushUpdatePayload::OrderCreated { order_id }
            | PushUpdatePayload::OrderConfirmed { order_id }
            | PushUpdatePayload::OrderCancelled { order_id } => order_id,
        }
    }
}

/// One push update for a set of users.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PushUpdateIntegrationMessage {
    pub message_id: Uuid,
    pub subscriber_ids: Vec<String>,
    pub payload: PushUpdatePayload,
}

impl PushUpdateIntegrationMessage {
    /// The argument of the hub's `PushUpdate` invocation:
    /// `{ "type", "orderId", "messageId" }`.
    pub fn push_update_argument(&self) -> serde_json::Value {
        serde_json::json!({
            "type": self.payload.type_name(),
            "orderId": self.payload.order_id(),
            "messageId": self.message_id,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wire_shape_names_the_payload_type_beside_the_order_id() {
        let message = PushUpdateIntegrationMessage {
            message_id: Uuid::nil(),
            subscriber_ids: vec!["alice".into()],
            payload: PushUpdatePayload::OrderConfirmed {
                order_id: "o-1".into(),
            },
        };
        let json = serde_json::to_value(&message).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "messageId": Uuid::nil(),
                "subscriberIds": ["alice"],
                "payload": { "type": "order-confirmed", "orderId": "o-1" }
            })
        );
        let back: PushUpdateIntegrationMessage = serde_json::from_value(json).unwrap();
        assert_eq!(back, message);
        assert_eq!(
            message.push_update_argument(),
            serde_json::json!({ "type": "order-confirmed", "orderId": "o-1", "messageId": Uuid::nil() })
        );
    }
}
