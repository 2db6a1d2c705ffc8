//! Sending `CreateOrderCommand`s from the gateway to the order service.
//!
//! Guarantees: a command leaves only after the gateway has authorized the
//! caller (buyers only) and validated the order with the domain's own rules,
//! so bad input is refused at the edge without a round trip. The command id
//! comes from the caller's `Idempotency-Key` when there is one (a retried
//! request sends the same command) and the order id is derived from the
//! command id, so the gateway knows where the order will appear before the
//! order service has run. Commands are mandatory messages on a durable queue:
//! once sent, a command is processed even if its requester stopped waiting.

use std::sync::Arc;
use std::time::Duration;

use orderflow_domain::{CreateOrder, OrderId, RawOrder};
use uuid::Uuid;

use crate::TraceContext;
use crate::context::RequestContext;
use crate::error::AppError;
use crate::integration::command_context;
use crate::integration::messages::{
    CREATE_ORDER_COMMAND_KIND, CREATE_ORDER_ROUTING_KEY, CommandSender, CreateOrderCommand,
    CreateOrderReply, CreateOrderResponse,
};
use crate::ports::bus::{BusError, Message, MessageBus};

/// Why sending a command did not give a response.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// Refused by the gateway or the order service, or the bus is down.
    #[error(transparent)]
    Refused(#[from] AppError),
    /// No answer in time. The command was accepted by the broker and will
    /// still be processed; the order will appear under `order_id`.
    #[error("the order service did not answer within {waited:?}")]
    Timeout { order_id: Uuid, waited: Duration },
}

/// Sends order commands over the bus.
#[derive(Clone)]
pub struct OrderCommands {
    bus: Arc<dyn MessageBus>,
    timeout: Duration,
}

impl std::fmt::Debug for OrderCommands {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrderCommands")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl OrderCommands {
    /// How long a request waits for the order service by default.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

    pub fn new(bus: Arc<dyn MessageBus>, timeout: Duration) -> Self {
        OrderCommands { bus, timeout }
    }

    /// Sends the command and waits, bounded, for the order service's answer.
    pub async fn create(
        &self,
        command: &CreateOrderCommand,
    ) -> Result<CreateOrderResponse, CommandError> {
        let message = command_message(command)?;
        let reply = match self.bus.request(message, self.timeout).await {
            Ok(reply) => reply,
            Err(BusError::Timeout(waited)) => {
                return Err(CommandError::Timeout {
                    order_id: command.order_id,
                    waited,
                });
            }
            Err(error) => return Err(bus_failure(error).into()),
        };
        match reply.decode::<CreateOrderReply>() {
            Ok(CreateOrderReply::Created(response)) => Ok(response),
            Ok(CreateOrderReply::Rejected(rejection)) => Err(rejection.into_app_error().into()),
            Err(error) => Err(AppError::Internal(Box::new(error)).into()),
        }
    }

    /// Sends the command without waiting for it to be processed; returns
    /// once the broker holds it.
    pub async fn send(&self, command: &CreateOrderCommand) -> Result<(), AppError> {
        let message = command_message(command)?;
        self.bus.publish(message).await.map_err(bus_failure)
    }
}

fn command_message(command: &CreateOrderCommand) -> Result<Message, AppError> {
    Ok(
        Message::json(CREATE_ORDER_COMMAND_KIND, CREATE_ORDER_ROUTING_KEY, command)
            .map_err(|error| AppError::Internal(Box::new(error)))?
            .with_id(command.command_id)
            .with_correlation_id(command.correlation_id)
            .with_trace_context(&TraceContext::current())
            .mandatory(),
    )
}

fn bus_failure(error: BusError) -> AppError {
    match error {
        BusError::Unroutable(_) => {
            AppError::Unavailable("no order service has declared its command queue".into())
        }
        error => AppError::Unavailable(Box::new(error)),
    }
}

/// Validates `order` with the domain's rules and builds its command (the
/// mediator has authorized the caller as a buyer).
pub(crate) fn prepare(
    context: &RequestContext,
    order: RawOrder,
) -> Result<CreateOrderCommand, AppError> {
    let sender = CommandSender {
        user_id: context.actor.user_id.to_string(),
        is_buyer: context.actor.is_buyer,
        is_admin: context.actor.is_admin,
    };
    let command_id = context.id_for("create-order-command");
    let order_id = command_context(&sender, command_id, context.correlation_id)
        .ok_or_else(|| AppError::Internal("a user id that is not a user id".into()))?
        .id_for("order");
    let domain_id =
        OrderId::from_uuid(order_id).map_err(|error| AppError::Internal(Box::new(error)))?;
    CreateOrder::parse(domain_id, context.actor.user_id.clone(), order.clone())?;
    Ok(CreateOrderCommand {
        command_id,
        correlation_id: context.correlation_id,
        order_id,
        sender,
        order,
    })
}
