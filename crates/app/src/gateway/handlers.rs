//! The gateway's handlers: send the command (waiting, bounded, for the
//! order service, or not at all), and answer reads from the read model
//! under the one visibility rule.

use std::sync::Arc;

use async_trait::async_trait;
use orderflow_domain::OrderId;

use super::commands::{CommandError, OrderCommands};
use super::requests::{
    GetGatewayOrderRequest, ListGatewayOrdersRequest, SubmitOrderRequest, SubmittedOrder,
    ValidatedSubmission,
};
use crate::context::RequestContext;
use crate::error::AppError;
use crate::mediator::Handle;
use crate::orders::visibility::may_see;
use crate::ports::{GatewayOrder, OrderListPage, OrderListQuery, OrderReadModel};

/// What the gateway's requests run on. Cheap to clone.
#[derive(Debug, Clone)]
pub struct GatewayHandlers {
    commands: OrderCommands,
    read_model: Arc<dyn OrderReadModel>,
}

impl GatewayHandlers {
    pub fn new(commands: OrderCommands, read_model: Arc<dyn OrderReadModel>) -> Self {
        GatewayHandlers {
            commands,
            read_model,
        }
    }
}

#[async_trait]
impl Handle<SubmitOrderRequest> for GatewayHandlers {
    async fn handle(
        &self,
        _: &RequestContext,
        submission: ValidatedSubmission,
    ) -> Result<SubmittedOrder, AppError> {
        let command = submission.command;
        if submission.respond_async {
            self.commands.send(&command).await?;
            return Ok(SubmittedOrder::Accepted {
                order_id: command.order_id,
            });
        }
        match self.commands.create(&command).await {
            Ok(created) => Ok(SubmittedOrder::Created(created)),
            Err(CommandError::Refused(error)) => Err(error),
            Err(CommandError::Timeout { order_id, waited }) => {
                Ok(SubmittedOrder::TimedOut { order_id, waited })
            }
        }
    }
}

#[async_trait]
impl Handle<GetGatewayOrderRequest> for GatewayHandlers {
    async fn handle(
        &self,
        context: &RequestContext,
        order_id: OrderId,
    ) -> Result<GatewayOrder, AppError> {
        match self.read_model.get(order_id.as_uuid()).await? {
            Some(order) if may_see(&context.actor, &order.buyer_id) => Ok(order),
            _ => Err(AppError::NotFound),
        }
    }
}

#[async_trait]
impl Handle<ListGatewayOrdersRequest> for GatewayHandlers {
    async fn handle(
        &self,
        _: &RequestContext,
        query: OrderListQuery,
    ) -> Result<OrderListPage, AppError> {
        Ok(self.read_model.list(&query).await?)
    }
}
