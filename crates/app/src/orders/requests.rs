//! The order requests: their role checks and their validation.

use orderflow_domain::{CreateOrder, OrderId, RawOrder, UserId, ValidationErrors};
use orderflow_domain::{FieldError, check_reason};

use crate::context::{Actor, RequestContext};
use crate::error::AppError;
use crate::mediator::Request;
use crate::orders::OrderChange;

/// Only buyers place orders, through the orders API or the gateway.
pub(crate) fn buyers_only(actor: &Actor) -> Result<(), AppError> {
    if actor.is_buyer {
        Ok(())
    } else {
        Err(AppError::Forbidden("only buyers place orders"))
    }
}

/// A buyer places an order (`POST /orders`).
#[derive(Debug, Clone)]
pub struct PlaceOrderRequest {
    pub order: RawOrder,
}

impl Request for PlaceOrderRequest {
    type Validated = CreateOrder;
    type Response = OrderChange;
    const NAME: &'static str = "place_order";

    fn authorize(&self, actor: &Actor) -> Result<(), AppError> {
        buyers_only(actor)
    }

    fn validate(self, context: &RequestContext) -> Result<CreateOrder, AppError> {
        let order_id = OrderId::from_uuid(context.id_for("order"))
            .map_err(|error| AppError::Internal(Box::new(error)))?;
        Ok(CreateOrder::parse(
            order_id,
            context.actor.user_id.clone(),
            self.order,
        )?)
    }
}

/// An admin confirms a pending order.
#[derive(Debug, Clone)]
pub struct ConfirmOrderRequest {
    pub order_id: OrderId,
}

impl Request for ConfirmOrderRequest {
    type Validated = OrderId;
    type Response = OrderChange;
    const NAME: &'static str = "confirm_order";

    fn authorize(&self, actor: &Actor) -> Result<(), AppError> {
        if actor.is_admin {
            Ok(())
        } else {
            Err(AppError::Forbidden("only admins confirm orders"))
        }
    }

    fn validate(self, _: &RequestContext) -> Result<OrderId, AppError> {
        Ok(self.order_id)
    }
}

/// The owner or an admin cancels a pending order.
#[derive(Debug, Clone)]
pub struct CancelOrderRequest {
    pub order_id: OrderId,
    pub reason: Option<String>,
}

impl Request for CancelOrderRequest {
    type Validated = CancelOrderRequest;
    type Response = OrderChange;
    const NAME: &'static str = "cancel_order";

    fn authorize(&self, _: &Actor) -> Result<(), AppError> {
        Ok(())
    }

    /// The domain's reason rule, before any I/O (the domain applies it
    /// again when it decides).
    fn validate(self, _: &RequestContext) -> Result<CancelOrderRequest, AppError> {
        let reason = check_reason(self.reason.as_deref()).map_err(ValidationErrors::single)?;
        Ok(CancelOrderRequest { reason, ..self })
    }
}

/// The owner or an admin subscribes a user to an order's updates.
#[derive(Debug, Clone)]
pub struct SubscribeToOrderRequest {
    pub order_id: OrderId,
    pub subscriber_id: String,
}

impl Request for SubscribeToOrderRequest {
    type Validated = (OrderId, UserId);
    type Response = OrderChange;
    const NAME: &'static str = "subscribe_to_order";

    fn authorize(&self, _: &Actor) -> Result<(), AppError> {
        Ok(())
    }

    fn validate(self, _: &RequestContext) -> Result<(OrderId, UserId), AppError> {
        let subscriber = UserId::parse(&self.subscriber_id).map_err(|error| {
            AppError::Validation(ValidationErrors::single(FieldError::new(
                "subscriberId",
                error.code(),
                error.to_string(),
            )))
        })?;
        Ok((self.order_id, subscriber))
    }
}

/// Reads one order: its owner or an admin (anyone else gets "not found").
#[derive(Debug, Clone)]
pub struct GetOrderRequest {
    pub order_id: OrderId,
}

impl Request for GetOrderRequest {
    type Validated = OrderId;
    type Response = orderflow_domain::Order;
    const NAME: &'static str = "get_order";

    fn authorize(&self, _: &Actor) -> Result<(), AppError> {
        Ok(())
    }

    fn validate(self, _: &RequestContext) -> Result<OrderId, AppError> {
        Ok(self.order_id)
    }
}
