//! The API gateway (BFF): `POST /api/orders`, `GET /api/orders`,
//! `GET /api/orders/{id}`.
//!
//! Guarantees:
//! * `POST /api/orders` authenticates (401), authorizes (buyers, 403) and
//!   validates the order with the domain's rules (400/413/415/422) before
//!   anything is sent; then it sends `CreateOrderCommand` over the bus and
//!   answers `201 Created` with the `CreateOrderResponse` and
//!   `Location: /api/orders/{id}`. With `Prefer: respond-async` it answers
//!   `202 Accepted` as soon as the broker holds the command, with the
//!   `Location` where the order will appear and `Preference-Applied`. No
//!   answer within the bound → 504 problem carrying that `Location` too (the
//!   command is queued and will be processed once). `Idempotency-Key` makes
//!   a retry send the same command.
//! * The reads come from the gateway's own read model, which follows the
//!   order integration events (eventually consistent): a buyer lists and
//!   reads only their own orders (anyone else's is 404), an admin all.
//!
//! Each route parses, sends one request through the gateway's mediator
//! (`orderflow_app::gateway`, which authorizes, validates and decides) and
//! maps the answer.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use orderflow_app::AppError;
use orderflow_app::gateway::{
    GetGatewayOrderRequest, ListGatewayOrdersRequest, SubmitOrderRequest, SubmittedOrder,
};
use orderflow_app::page_cursor::PageCursor;
use orderflow_app::ports::GatewayOrder;
use orderflow_domain::RawOrder;
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use crate::GatewayApi;
use crate::extract::{Caller, IdempotencyKeyHeader, JsonBody, OrderIdPath};
use crate::problem::Problem;

/// RFC 7240 `Preference-Applied`.
const PREFERENCE_APPLIED: HeaderName = HeaderName::from_static("preference-applied");

/// Where an order of the gateway lives.
fn location_of(order_id: Uuid) -> String {
    format!("/api/orders/{order_id}")
}

fn with_location(mut response: Response, order_id: Uuid) -> Response {
    if let Ok(location) = HeaderValue::from_str(&location_of(order_id)) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

/// Whether the request carries `Prefer: respond-async` (RFC 7240: several
/// `Prefer` headers, comma-separated preferences, parameters after `;`).
fn prefers_async(headers: &HeaderMap) -> bool {
    headers
        .get_all("prefer")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|preference| preference.split([';', '=']).next())
        .any(|token| token.trim().eq_ignore_ascii_case("respond-async"))
}

/// `POST /api/orders` (buyers).
pub(crate) async fn create_order(
    State(api): State<GatewayApi>,
    Caller(mut context): Caller,
    IdempotencyKeyHeader(idempotency_key): IdempotencyKeyHeader,
    headers: HeaderMap,
    JsonBody(order): JsonBody<RawOrder>,
) -> Result<Response, Problem> {
    context.idempotency_key = idempotency_key;
    let request = SubmitOrderRequest {
        order,
        respond_async: prefers_async(&headers),
    };
    match api.mediator.send(&context, request).await? {
        SubmittedOrder::Accepted { order_id } => {
            let body = json!({
                "orderId": order_id,
                "status": "accepted",
                "location": location_of(order_id),
            });
            let mut response = (StatusCode::ACCEPTED, Json(body)).into_response();
            response.headers_mut().insert(
                PREFERENCE_APPLIED,
                HeaderValue::from_static("respond-async"),
            );
            Ok(with_location(response, order_id))
        }
        SubmittedOrder::Created(created) => {
            let order_id = created.order_id;
            Ok(with_location(
                (StatusCode::CREATED, Json(created)).into_response(),
                order_id,
            ))
        }
        SubmittedOrder::TimedOut { order_id, waited } => {
            let problem = Problem::new(
                StatusCode::GATEWAY_TIMEOUT,
                "order_service_timeout",
                "Gateway timeout",
                format!(
                    "the order service did not answer within {} ms; the command is queued \
                     and the order will appear at the Location once it is processed",
                    waited.as_millis()
                ),
            );
            Ok(with_location(problem.into_response(), order_id))
        }
    }
}

/// `GET /api/orders/{id}` (its buyer or an admin).
pub(crate) async fn get_order(
    State(api): State<GatewayApi>,
    Caller(context): Caller,
    OrderIdPath(order_id): OrderIdPath,
) -> Result<Json<GatewayOrder>, Problem> {
    let order = api
        .mediator
        .send(&context, GetGatewayOrderRequest { order_id })
        .await?;
    Ok(Json(order))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct ListParams {
    limit: Option<u32>,
    cursor: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ListResponse {
    items: Vec<GatewayOrder>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_cursor: Option<String>,
}

/// `GET /api/orders?limit=&cursor=` (a buyer's own; all for an admin).
pub(crate) async fn list_orders(
    State(api): State<GatewayApi>,
    Caller(context): Caller,
    params: Result<Query<ListParams>, QueryRejection>,
) -> Result<Json<ListResponse>, Problem> {
    let Query(params) = params.map_err(|rejection| Problem::bad_query(rejection.body_text()))?;
    let request = ListGatewayOrdersRequest {
        limit: params.limit,
        cursor: params.cursor,
    };
    let page = api.mediator.send(&context, request).await?;
    Ok(Json(ListResponse {
        items: page.items,
        next_cursor: page.next.map(|cursor| PageCursor::from(cursor).to_string()),
    }))
}

/// `GET /health/ready` of a gateway on its own: its read model answers.
pub(crate) async fn ready(
    State(api): State<GatewayApi>,
) -> Result<Json<serde_json::Value>, Problem> {
    api.read_model.check().await.map_err(AppError::from)?;
    Ok(Json(json!({ "status": "ready" })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn respond_async_is_found_among_other_preferences() {
        let mut headers = HeaderMap::new();
        assert!(!prefers_async(&headers));
        headers.append("prefer", HeaderValue::from_static("return=minimal"));
        assert!(!prefers_async(&headers));
        headers.append("prefer", HeaderValue::from_static("wait=5, Respond-Async"));
        assert!(prefers_async(&headers));
    }
}
