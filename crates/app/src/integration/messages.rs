//! The messages between the gateway and the order service, as the contract
//! names them: `CreateOrderCommand` / `CreateOrderResponse` (request/response)
//! and the order integration events (`OrderCreatedIntegrationEvent`,
//! `OrderConfirmedIntegrationEvent`, `OrderCancelledIntegrationEvent`).
//!
//! Guarantees: bodies are camelCase JSON; money is a decimal string in the
//! order's currency, never a float; timestamps are RFC 3339. Every
//! integration event carries the stream revision it reflects, so consumers
//! apply them idempotently and in any order.

use orderflow_domain::{Order, OrderEvent, OrderLine, RawOrder};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::AppError;
use crate::ports::read_model::{CreatedOrder, GatewayOrderLine, StatusChange};

/// `CreateOrderCommand`'s message kind.
pub const CREATE_ORDER_COMMAND_KIND: &str = "CreateOrderCommand";
/// The routing key commands are sent with; the order service's queue binds it.
pub const CREATE_ORDER_ROUTING_KEY: &str = "command.create-order";
/// The order service's durable command queue, shared by its instances.
pub const CREATE_ORDER_QUEUE: &str = "orders.create-order";
/// `CreateOrderResponse`'s message kind (a reply).
pub const CREATE_ORDER_RESPONSE_KIND: &str = "CreateOrderResponse";

/// Integration events are routed as `order-event.created`, `…confirmed`,
/// `…cancelled`; bind `order-event.#` for all of them.
pub const ORDER_EVENT_ROUTING_PREFIX: &str = "order-event.";
pub const ORDER_CREATED_KIND: &str = "OrderCreatedIntegrationEvent";
pub const ORDER_CONFIRMED_KIND: &str = "OrderConfirmedIntegrationEvent";
pub const ORDER_CANCELLED_KIND: &str = "OrderCancelledIntegrationEvent";

/// Who sends a command: the authenticated user, as the gateway saw the token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommandSender {
    pub user_id: String,
    #[serde(default)]
    pub is_buyer: bool,
    #[serde(default)]
    pub is_admin: bool,
}

/// A buyer asks the order service to place an order.
///
/// `commandId` is the idempotency key of the order service's mediator: a
/// command delivered twice (or sent again with the same id) creates one order
/// and answers the first outcome. `orderId` is the id the order will have,
/// derived from the sender and the command id, so the gateway can say where
/// the order will appear before it exists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateOrderCommand {
    pub command_id: Uuid,
    pub correlation_id: Uuid,
    pub order_id: Uuid,
    pub sender: CommandSender,
    pub order: RawOrder,
}

/// The order service's answer to a [`CreateOrderCommand`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "outcome")]
pub enum CreateOrderReply {
    /// The order exists (now, or since the first delivery of this command).
    Created(CreateOrderResponse),
    /// The command was refused for good.
    Rejected(CreateOrderRejection),
}

/// `CreateOrderResponse`: what `POST /api/orders` answers with 201.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateOrderResponse {
    pub order_id: Uuid,
    pub status: String,
    pub currency: String,
    /// Decimal string in the order's currency.
    pub total: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl CreateOrderResponse {
    pub fn of(order: &Order) -> Self {
        CreateOrderResponse {
            order_id: order.id().as_uuid(),
            status: order.status().as_str().to_owned(),
            currency: order.currency().code().to_owned(),
            total: order.total().format(),
            created_at: order.created_at(),
        }
    }
}

/// Why the order service refused a command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateOrderRejection {
    /// `validation_failed`, `forbidden`, `idempotency_key_reused`, `conflict`.
    pub code: String,
    pub detail: String,
}

impl CreateOrderRejection {
    /// The rejection for an error that retrying cannot fix, or `None` for a
    /// transient one (the command is then retried, not answered).
    pub fn for_error(error: &AppError) -> Option<Self> {
        let code = match error {
            AppError::Validation(_) => "validation_failed",
            AppError::Forbidden(_) => "forbidden",
            AppError::IdempotencyKeyReused => "idempotency_key_reused",
            AppError::Conflict { .. } | AppError::NotFound => "conflict",
            AppError::BadQuery(_) | AppError::RebuildNotOffered => "bad_request",
            AppError::Unavailable(_) | AppError::Internal(_) | AppError::SearchNotConfigured => {
                return None;
            }
        };
        Some(CreateOrderRejection {
            code: code.to_owned(),
            detail: error.to_string(),
        })
    }

    /// Back to the app's error on the gateway's side. The gateway validates
    /// and authorizes before sending, so a validation or role refusal here
    /// means the two services disagree: an internal error.
    pub fn into_app_error(self) -> AppError {
        match self.code.as_str() {
            "idempotency_key_reused" => AppError::IdempotencyKeyReused,
            "forbidden" => AppError::Forbidden("only buyers place orders"),
            "conflict" => AppError::Conflict {
                code: "conflict",
                message: self.detail,
            },
            _ => AppError::internal(format!(
                "the order service refused the order ({}): {}",
                self.code, self.detail
            )),
        }
    }
}

/// `OrderCreatedIntegrationEvent`: a new order, with everything a read model
/// shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderCreatedIntegrationEvent {
    pub message_id: Uuid,
    pub order_id: Uuid,
    pub buyer_id: String,
    pub currency: String,
    pub items: Vec<GatewayOrderLine>,
    pub total: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Stream revision (0 for a creation).
    pub revision: u64,
}

impl OrderCreatedIntegrationEvent {
    /// The read model's view of the new order.
    pub fn created_order(&self) -> CreatedOrder {
        CreatedOrder {
            id: self.order_id,
            buyer_id: self.buyer_id.clone(),
            currency: self.currency.clone(),
            items: self.items.clone(),
            total: self.total.clone(),
            created_at: self.created_at,
        }
    }
}

/// `OrderConfirmedIntegrationEvent` and `OrderCancelledIntegrationEvent`:
/// an order's status changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderStatusIntegrationEvent {
    pub message_id: Uuid,
    pub order_id: Uuid,
    /// `confirmed` or `cancelled`.
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub reason: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// Stream revision of the event.
    pub revision: u64,
}

impl OrderStatusIntegrationEvent {
    pub fn status_change(&self) -> StatusChange {
        StatusChange {
            id: self.order_id,
            status: self.status.clone(),
            cancellation_reason: self.reason.clone(),
            revision: self.revision,
            at: self.at,
        }
    }
}

/// An integration event to publish: its kind, routing key suffix and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderIntegrationEvent {
    Created(OrderCreatedIntegrationEvent),
    StatusChanged(OrderStatusIntegrationEvent),
}

impl OrderIntegrationEvent {
    /// The integration event for a domain event at `revision`, or `None` for
    /// events the gateway does not follow (subscriptions).
    pub fn of(event: &OrderEvent, message_id: Uuid, revision: u64) -> Option<Self> {
        match event {
            OrderEvent::OrderCreated {
                order_id,
                buyer_id,
                currency,
                lines,
                total,
                created_at,
            } => Some(OrderIntegrationEvent::Created(
                OrderCreatedIntegrationEvent {
                    message_id,
                    order_id: order_id.as_uuid(),
                    buyer_id: buyer_id.to_string(),
                    currency: currency.code().to_owned(),
                    items: lines.iter().map(line_of).collect(),
                    total: total.format(),
                    created_at: *created_at,
                    revision,
                },
            )),
            OrderEvent::OrderConfirmed {
                order_id,
                confirmed_at,
            } => Some(OrderIntegrationEvent::StatusChanged(
                OrderStatusIntegrationEvent {
                    message_id,
                    order_id: order_id.as_uuid(),
                    status: "confirmed".to_owned(),
                    reason: None,
                    at: *confirmed_at,
                    revision,
                },
            )),
            OrderEvent::OrderCancelled {
                order_id,
                reason,
                cancelled_at,
            } => Some(OrderIntegrationEvent::StatusChanged(
                OrderStatusIntegrationEvent {
                    message_id,
                    order_id: order_id.as_uuid(),
                    status: "cancelled".to_owned(),
                    reason: reason.clone(),
                    at: *cancelled_at,
                    revision,
                },
            )),
            OrderEvent::OrderSubscriptionAdded { .. } => None,
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            OrderIntegrationEvent::Created(_) => ORDER_CREATED_KIND,
            OrderIntegrationEvent::StatusChanged(event) if event.status == "cancelled" => {
                ORDER_CANCELLED_KIND
            }
            OrderIntegrationEvent::StatusChanged(_) => ORDER_CONFIRMED_KIND,
        }
    }

    /// `order-event.created`, `order-event.confirmed`, `order-event.cancelled`.
    pub fn routing_key(&self) -> String {
        let suffix = match self {
            OrderIntegrationEvent::Created(_) => "created",
            OrderIntegrationEvent::StatusChanged(event) => event.status.as_str(),
        };
        format!("{ORDER_EVENT_ROUTING_PREFIX}{suffix}")
    }

    pub fn message_id(&self) -> Uuid {
        match self {
            OrderIntegrationEvent::Created(event) => event.message_id,
            OrderIntegrationEvent::StatusChanged(event) => event.message_id,
        }
    }

    pub fn to_json(&self) -> Result<Vec<u8>, serde_json::Error> {
        match self {
            OrderIntegrationEvent::Created(event) => serde_json::to_vec(event),
            OrderIntegrationEvent::StatusChanged(event) => serde_json::to_vec(event),
        }
    }
}

fn line_of(line: &OrderLine) -> GatewayOrderLine {
    GatewayOrderLine {
        sku: line.sku.as_str().to_owned(),
        name: line.name.as_str().to_owned(),
        quantity: line.quantity.get(),
        unit_price: line.unit_price.format(),
        // A line's total never exceeds the order's, which the domain checked
        // fits in 64-bit minor units; the fallback is unreachable.
        line_total: line
            .line_total()
            .map_or_else(|_| line.unit_price.format(), |total| total.format()),
    }
}
