//! The order routes: place, read, confirm, cancel, subscribe.
//!
//! Guarantees: each handler authenticates first (401/503), then reads the path and the body
//! (404/400/413/415), then sends one request through the mediator; whatever it answers is
//! either the order's view or a problem. Writes carry `ETag: "<version>"` and, when they
//! wrote something, `Orderflow-Position: <global position>`; a new order also carries
//! `Location: /orders/{id}`.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use orderflow_app::orders::{
    CancelOrderRequest, ConfirmOrderRequest, GetOrderRequest, OrderChange, PlaceOrderRequest,
    SubscribeToOrderRequest,
};
use orderflow_domain::{Order, RawOrder};
use serde::Deserialize;

use crate::OrdersApi;
use crate::extract::{Caller, IdempotencyKeyHeader, JsonBody, OptionalJsonBody, OrderIdPath};
use crate::problem::Problem;
use crate::view::OrderView;

/// The global position of a write's last event: read-your-writes for the projections.
pub const POSITION_HEADER: HeaderName = HeaderName::from_static("orderflow-position");

/// The body of `POST /orders/{id}/cancel` (the body itself is optional; unknown members are
/// refused by the extractor).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CancelBody {
    #[serde(default)]
    reason: Option<String>,
}

/// The body of `POST /orders/{id}/subscribers` (unknown members are refused by the
/// extractor).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SubscribeBody {
    subscriber_id: String,
}

/// `POST /orders` (buyers): 201 + `Location`.
pub(crate) async fn place_order(
    State(api): State<OrdersApi>,
    Caller(mut context): Caller,
    IdempotencyKeyHeader(idempotency_key): IdempotencyKeyHeader,
    JsonBody(order): JsonBody<RawOrder>,
) -> Result<Response, Problem> {
    context.idempotency_key = idempotency_key;
    let change = api
        .mediator
        .send(&context, PlaceOrderRequest { order })
        .await?;
    let location = format!("/orders/{}", change.order.id());
    let mut response = written(StatusCode::CREATED, &change)?;
    if let Ok(location) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

/// `GET /orders/{id}` (owner or admin; anyone else gets 404).
pub(crate) async fn get_order(
    State(api): State<OrdersApi>,
    Caller(context): Caller,
    OrderIdPath(order_id): OrderIdPath,
) -> Result<Response, Problem> {
    let order = api
        .mediator
        .send(&context, GetOrderRequest { order_id })
        .await?;
    with_etag(Json(OrderView::of(&order)?).into_response(), &order)
}

/// `POST /orders/{id}/confirm` (admins).
pub(crate) async fn confirm_order(
    State(api): State<OrdersApi>,
    Caller(context): Caller,
    OrderIdPath(order_id): OrderIdPath,
) -> Result<Response, Problem> {
    let change = api
        .mediator
        .send(&context, ConfirmOrderRequest { order_id })
        .await?;
    written(StatusCode::OK, &change)
}

/// `POST /orders/{id}/cancel` (owner or admin), body `{"reason": "…"}` optional.
pub(crate) async fn cancel_order(
    State(api): State<OrdersApi>,
    Caller(context): Caller,
    OrderIdPath(order_id): OrderIdPath,
    OptionalJsonBody(body): OptionalJsonBody<CancelBody>,
) -> Result<Response, Problem> {
    let reason = body.and_then(|body| body.reason);
    let change = api
        .mediator
        .send(&context, CancelOrderRequest { order_id, reason })
        .await?;
    written(StatusCode::OK, &change)
}

/// `POST /orders/{id}/subscribers` (owner or admin), body `{"subscriberId": "…"}`;
/// subscribing someone twice changes nothing (and carries no position).
pub(crate) async fn subscribe_to_order(
    State(api): State<OrdersApi>,
    Caller(context): Caller,
    OrderIdPath(order_id): OrderIdPath,
    JsonBody(body): JsonBody<SubscribeBody>,
) -> Result<Response, Problem> {
    let request = SubscribeToOrderRequest {
        order_id,
        subscriber_id: body.subscriber_id,
    };
    let change = api.mediator.send(&context, request).await?;
    written(StatusCode::OK, &change)
}

/// The answer to a write: the order, its `ETag`, and the position when something was written.
fn written(status: StatusCode, change: &OrderChange) -> Result<Response, Problem> {
    let mut response = (status, Json(OrderView::of(&change.order)?)).into_response();
    if let Some(position) = change.position {
        response
            .headers_mut()
            .insert(POSITION_HEADER, HeaderValue::from(position.value()));
    }
    with_etag(response, &change.order)
}

/// Adds `ETag: "<version>"`.
fn with_etag(mut response: Response, order: &Order) -> Result<Response, Problem> {
    let etag = HeaderValue::from_str(&format!("\"{}\"", order.version()))
        .map_err(|error| orderflow_app::AppError::internal(format!("etag: {error}")))?;
    response.headers_mut().insert(header::ETAG, etag);
    Ok(response)
}
