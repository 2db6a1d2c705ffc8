//! The `{id}` path segment of `/orders/{id}…` and `/api/orders/{id}`.
//!
//! Guarantees: a segment that is not an order id (not a UUID, or the nil UUID) answers a 400
//! problem (`invalid_order_id`), as the OpenAPI document says, never 404 or a plain-text
//! rejection; a well-formed id of an order that does not exist is the handler's 404.

use axum::extract::{FromRequestParts, Path};
use axum::http::StatusCode;
use axum::http::request::Parts;
use orderflow_domain::OrderId;

use crate::problem::Problem;

/// The order id named by the path.
#[derive(Debug, Clone, Copy)]
pub struct OrderIdPath(pub OrderId);

impl<S: Send + Sync> FromRequestParts<S> for OrderIdPath {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        let Path(text) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| invalid_order_id())?;
        let order_id = OrderId::parse(&text).map_err(|_| invalid_order_id())?;
        Ok(OrderIdPath(order_id))
    }
}

fn invalid_order_id() -> Problem {
    Problem::new(
        StatusCode::BAD_REQUEST,
        "invalid_order_id",
        "Invalid order id",
        "the order id in the path is not a UUID",
    )
}
