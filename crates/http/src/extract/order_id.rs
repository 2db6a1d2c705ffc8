//! The `{id}` path segment of `/orders/{id}…`.
//!
//! Guarantees: a segment that is not an order id answers 404 problem (such an order cannot
//! exist), never 400 or a plain-text rejection.

use axum::extract::{FromRequestParts, Path};
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
            .map_err(|_| Problem::not_found("no such order"))?;
        let order_id = OrderId::parse(&text).map_err(|_| Problem::not_found("no such order"))?;
        Ok(OrderIdPath(order_id))
    }
}
