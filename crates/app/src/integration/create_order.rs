//! The order service's `CreateOrderConsumer`: runs the very mediator request
//! `POST /orders` runs ([`PlaceOrderRequest`]), then answers the requester.
//!
//! Guarantees: the command id is the request's idempotency key, so a command
//! delivered twice (a redelivery after a crash, a retry after a gateway
//! timeout) creates one order and answers the first outcome. A refusal that
//! retrying cannot fix is answered as [`CreateOrderReply::Rejected`] and
//! acknowledged; a transient failure (the event store is down) is not
//! answered but requeued, so the command is processed once the store
//! returns. A body that does not decode is dead-lettered.

use std::sync::Arc;

use async_trait::async_trait;
use uuid::Uuid;

use super::messages::{
    CREATE_ORDER_RESPONSE_KIND, CommandSender, CreateOrderCommand, CreateOrderRejection,
    CreateOrderReply, CreateOrderResponse,
};
use crate::TraceContext;
use crate::context::{Actor, IdempotencyKey, RequestContext};
use crate::mediator::Mediator;
use crate::messaging::{Handled, MessageHandler};
use crate::orders::{OrderHandlers, PlaceOrderRequest};
use crate::ports::bus::{Delivery, Message};

/// Consumes `CreateOrderCommand`s.
#[derive(Clone)]
pub struct CreateOrderConsumer {
    mediator: Arc<Mediator<OrderHandlers>>,
}

impl std::fmt::Debug for CreateOrderConsumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreateOrderConsumer")
            .finish_non_exhaustive()
    }
}

/// The request context a command runs in: its sender, its correlation id and
/// its command id as the idempotency key.
pub fn command_context(
    sender: &CommandSender,
    command_id: Uuid,
    correlation_id: Uuid,
) -> Option<RequestContext> {
    let user_id = orderflow_domain::UserId::parse(&sender.user_id).ok()?;
    let key = IdempotencyKey::parse(&command_id.to_string()).ok()?;
    Some(RequestContext {
        actor: Actor {
            user_id,
            is_admin: sender.is_admin,
            is_buyer: sender.is_buyer,
        },
        correlation_id,
        idempotency_key: Some(key),
    })
}

impl CreateOrderConsumer {
    pub fn new(mediator: Arc<Mediator<OrderHandlers>>) -> Self {
        CreateOrderConsumer { mediator }
    }

    async fn reply(delivery: &Delivery, reply: &CreateOrderReply) -> Handled {
        if !delivery.is_request() {
            // Sent with `Prefer: respond-async`: nobody waits.
            return Handled::Done;
        }
        let message = match Message::json(CREATE_ORDER_RESPONSE_KIND, "", reply) {
            Ok(message) => message.with_trace_context(&TraceContext::current()),
            Err(error) => return Handled::Poison(error.to_string()),
        };
        match delivery.reply(message).await {
            Ok(()) => Handled::Done,
            // The order exists; the redelivery answers from the first outcome.
            Err(error) if error.is_retryable() => Handled::Retry(error.to_string()),
            Err(error) => {
                tracing::warn!(%error, "cannot answer a CreateOrderCommand");
                Handled::Done
            }
        }
    }
}

#[async_trait]
impl MessageHandler for CreateOrderConsumer {
    async fn handle(&self, delivery: &Delivery) -> Handled {
        let command: CreateOrderCommand = match delivery.message.decode() {
            Ok(command) => command,
            Err(error) => return Handled::Poison(error.to_string()),
        };
        let Some(context) =
            command_context(&command.sender, command.command_id, command.correlation_id)
        else {
            return Handled::Poison(format!("invalid sender {:?}", command.sender.user_id));
        };
        if context.id_for("order") != command.order_id {
            return Handled::Poison(format!(
                "order id {} is not the one command {} derives",
                command.order_id, command.command_id
            ));
        }
        let placed = self
            .mediator
            .send(
                &context,
                PlaceOrderRequest {
                    order: command.order,
                },
            )
            .await;
        let reply = match placed {
            Ok(change) => CreateOrderReply::Created(CreateOrderResponse::of(&change.order)),
            Err(error) => match CreateOrderRejection::for_error(&error) {
                Some(rejection) => CreateOrderReply::Rejected(rejection),
                None => return Handled::Retry(error.to_string()),
            },
        };
        Self::reply(delivery, &reply).await
    }
}
