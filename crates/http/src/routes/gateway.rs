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

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use orderflow_app::AppError;
use orderflow_app::gateway::CommandError;
use orderflow_app::ports::{GatewayOrder, OrderListCursor, OrderListQuery, ReadModelError};
use orderflow_domain::RawOrder;
use serde::{Deserialize, Serialize};
use serde_json::json;
use time::OffsetDateTime;
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
    let command = api.commands.prepare(&context, order)?;
    if prefers_async(&headers) {
        api.commands.send(&command).await?;
        let body = json!({
            "orderId": command.order_id,
            "status": "accepted",
            "location": location_of(command.order_id),
        });
        let mut response = (StatusCode::ACCEPTED, Json(body)).into_response();
        response.headers_mut().insert(
            PREFERENCE_APPLIED,
            HeaderValue::from_static("respond-async"),
        );
        return Ok(with_location(response, command.order_id));
    }
    match api.commands.create(&command).await {
        Ok(created) => {
            let order_id = created.order_id;
            Ok(with_location(
                (StatusCode::CREATED, Json(created)).into_response(),
                order_id,
            ))
        }
        Err(CommandError::Refused(error)) => Err(error.into()),
        Err(CommandError::Timeout { order_id, waited }) => {
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
        .read_model
        .get(order_id.as_uuid())
        .await
        .map_err(read_model_failure)?;
    match order {
        Some(order)
            if context.actor.is_admin || order.buyer_id == context.actor.user_id.as_str() =>
        {
            Ok(Json(order))
        }
        _ => Err(Problem::not_found("no such order")),
    }
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
    let limit = params.limit.unwrap_or(OrderListQuery::DEFAULT_LIMIT);
    if !(1..=OrderListQuery::MAX_LIMIT).contains(&limit) {
        return Err(Problem::bad_query(format!(
            "`limit` is between 1 and {}",
            OrderListQuery::MAX_LIMIT
        )));
    }
    let after = params.cursor.as_deref().map(decode_cursor).transpose()?;
    let query = OrderListQuery {
        buyer: (!context.actor.is_admin).then(|| context.actor.user_id.to_string()),
        limit,
        after,
    };
    let page = api
        .read_model
        .list(&query)
        .await
        .map_err(read_model_failure)?;
    Ok(Json(ListResponse {
        items: page.items,
        next_cursor: page.next.map(encode_cursor),
    }))
}

/// `GET /health/ready` of a gateway on its own: its read model answers.
pub(crate) async fn ready(
    State(api): State<GatewayApi>,
) -> Result<Json<serde_json::Value>, Problem> {
    api.read_model.check().await.map_err(read_model_failure)?;
    Ok(Json(json!({ "status": "ready" })))
}

/// A cursor is `{created_at in µs since the epoch}.{order id}`.
fn encode_cursor(cursor: OrderListCursor) -> String {
    let micros = cursor.created_at.unix_timestamp_nanos() / 1_000;
    format!("{micros}.{}", cursor.id.simple())
}

fn decode_cursor(text: &str) -> Result<OrderListCursor, Problem> {
    let invalid = || Problem::bad_query("`cursor` is not a cursor this API gave out");
    let (micros, id) = text.split_once('.').ok_or_else(invalid)?;
    let micros: i128 = micros.parse().map_err(|_| invalid())?;
    let created_at =
        OffsetDateTime::from_unix_timestamp_nanos(micros * 1_000).map_err(|_| invalid())?;
    let id = Uuid::try_parse(id).map_err(|_| invalid())?;
    Ok(OrderListCursor { created_at, id })
}

fn read_model_failure(error: ReadModelError) -> Problem {
    match error {
        ReadModelError::Unavailable(cause) => AppError::Unavailable(cause).into(),
        ReadModelError::Internal(cause) => AppError::Internal(cause).into(),
    }
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

    #[test]
    fn a_cursor_survives_the_round_trip_and_junk_is_refused() {
        let cursor = OrderListCursor {
            created_at: OffsetDateTime::from_unix_timestamp_nanos(1_700_000_000_123_456_000)
                .unwrap(),
            id: Uuid::now_v7(),
        };
        assert_eq!(decode_cursor(&encode_cursor(cursor)).unwrap(), cursor);
        for junk in [
            "",
            "x",
            "12.notauuid",
            "abc.0190f0c27c4e7b7a9a1e2b8d1c3e4f50",
        ] {
            assert_eq!(
                decode_cursor(junk).unwrap_err().status(),
                StatusCode::BAD_REQUEST
            );
        }
    }
}
