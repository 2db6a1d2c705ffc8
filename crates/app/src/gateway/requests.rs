//! The gateway's requests (`/api/orders`): submit an order to the order
//! service over the bus, read one order, list orders. Each goes through the
//! gateway's mediator, so the pipeline authorizes, validates and traces it
//! as it does the order service's own requests.

use orderflow_domain::{OrderId, RawOrder};

use crate::context::{Actor, RequestContext};
use crate::error::AppError;
use crate::integration::messages::{CreateOrderCommand, CreateOrderResponse};
use crate::mediator::Request;
use crate::orders::buyers_only;
use crate::orders::visibility::own_orders_only;
use crate::page_cursor::PageCursor;
use crate::ports::{GatewayOrder, OrderListCursor, OrderListPage, OrderListQuery};

/// `POST /api/orders` (buyers).
#[derive(Debug, Clone)]
pub struct SubmitOrderRequest {
    pub order: RawOrder,
    /// Answer once the broker holds the command (`Prefer: respond-async`),
    /// without waiting for the order service.
    pub respond_async: bool,
}

/// A command ready to send.
#[derive(Debug, Clone)]
pub struct ValidatedSubmission {
    pub command: CreateOrderCommand,
    pub respond_async: bool,
}

/// What became of a submitted order.
#[derive(Debug, Clone)]
pub enum SubmittedOrder {
    /// The order service created it.
    Created(CreateOrderResponse),
    /// The broker holds the command; the order will appear under `order_id`.
    Accepted { order_id: uuid::Uuid },
    /// The order service did not answer within `waited`; the command stays
    /// queued and runs once, and the order will appear under `order_id`.
    TimedOut {
        order_id: uuid::Uuid,
        waited: std::time::Duration,
    },
}

impl Request for SubmitOrderRequest {
    type Validated = ValidatedSubmission;
    type Response = SubmittedOrder;
    const NAME: &'static str = "submit_order";

    fn authorize(&self, actor: &Actor) -> Result<(), AppError> {
        buyers_only(actor)
    }

    fn validate(self, context: &RequestContext) -> Result<ValidatedSubmission, AppError> {
        Ok(ValidatedSubmission {
            command: super::commands::prepare(context, self.order)?,
            respond_async: self.respond_async,
        })
    }
}

/// `GET /api/orders/{id}` (its buyer or an admin; anyone else: not found).
#[derive(Debug, Clone)]
pub struct GetGatewayOrderRequest {
    pub order_id: OrderId,
}

impl Request for GetGatewayOrderRequest {
    type Validated = OrderId;
    type Response = GatewayOrder;
    const NAME: &'static str = "get_gateway_order";

    fn authorize(&self, _: &Actor) -> Result<(), AppError> {
        Ok(())
    }

    fn validate(self, _: &RequestContext) -> Result<OrderId, AppError> {
        Ok(self.order_id)
    }
}

/// `GET /api/orders?limit=&cursor=` (a buyer's own orders; all for an admin).
#[derive(Debug, Clone, Default)]
pub struct ListGatewayOrdersRequest {
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

impl Request for ListGatewayOrdersRequest {
    type Validated = OrderListQuery;
    type Response = OrderListPage;
    const NAME: &'static str = "list_gateway_orders";

    fn authorize(&self, _: &Actor) -> Result<(), AppError> {
        Ok(())
    }

    fn validate(self, context: &RequestContext) -> Result<OrderListQuery, AppError> {
        let limit = self.limit.unwrap_or(OrderListQuery::DEFAULT_LIMIT);
        if !(1..=OrderListQuery::MAX_LIMIT).contains(&limit) {
            return Err(AppError::BadQuery(format!(
                "`limit` is between 1 and {}",
                OrderListQuery::MAX_LIMIT
            )));
        }
        let after = self
            .cursor
            .as_deref()
            .map(|text| PageCursor::parse(text).and_then(OrderListCursor::try_from))
            .transpose()
            .map_err(|error| AppError::BadQuery(error.to_string()))?;
        Ok(OrderListQuery {
            buyer: own_orders_only(&context.actor).map(ToString::to_string),
            limit,
            after,
        })
    }
}
