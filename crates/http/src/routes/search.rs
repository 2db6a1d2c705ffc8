//! `GET /orders?status=&q=&buyerId=&from=&to=&limit=&cursor=&minPosition=`:
//! search the order projection.
//!
//! Guarantees: the parameters are read as sent (unknown ones are a 400) and
//! handed to the mediator as one [`SearchOrdersRequest`]; the orders slice
//! scopes, validates and waits for read-your-writes
//! (`orderflow_app::orders::search`). The answer lists the page newest
//! first with an opaque `nextCursor`, `total` counts every match,
//! `upToDate` says whether `minPosition` was reached, and the
//! `Orderflow-Search-Position` header tells how far the index was.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use orderflow_app::orders::search::SearchOrdersRequest;
use orderflow_app::page_cursor::PageCursor;
use serde::{Deserialize, Serialize};

use crate::OrdersApi;
use crate::extract::Caller;
use crate::problem::Problem;
use crate::view::OrderView;

/// The response header with the position the index had reached.
pub const SEARCH_POSITION_HEADER: &str = "orderflow-search-position";

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct SearchParams {
    status: Option<String>,
    q: Option<String>,
    buyer_id: Option<String>,
    from: Option<String>,
    to: Option<String>,
    limit: Option<u32>,
    cursor: Option<String>,
    min_position: Option<u64>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct SearchResponse {
    items: Vec<OrderView>,
    total: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_cursor: Option<String>,
    /// How far the index had got (global position).
    position: u64,
    /// False when `minPosition` was asked for and not reached in time.
    up_to_date: bool,
}

/// `GET /orders`.
pub(crate) async fn search_orders(
    State(api): State<OrdersApi>,
    Caller(context): Caller,
    params: Result<Query<SearchParams>, QueryRejection>,
) -> Result<Response, Problem> {
    let Query(params) = params.map_err(|rejection| Problem::bad_query(rejection.body_text()))?;
    let request = SearchOrdersRequest {
        status: params.status,
        text: params.q,
        buyer_id: params.buyer_id,
        from: params.from,
        to: params.to,
        limit: params.limit,
        cursor: params.cursor,
        min_position: params.min_position,
    };
    let result = api.mediator.send(&context, request).await?;
    let items = result
        .page
        .items
        .iter()
        .map(OrderView::of_document)
        .collect::<Result<Vec<_>, _>>()?;
    let body = SearchResponse {
        items,
        total: result.page.total,
        next_cursor: result
            .page
            .next_cursor
            .map(|cursor| PageCursor::from(cursor).to_string()),
        position: result.position.value(),
        up_to_date: result.up_to_date,
    };
    let mut response = Json(body).into_response();
    if let Ok(value) = HeaderValue::from_str(&result.position.to_string()) {
        response.headers_mut().insert(SEARCH_POSITION_HEADER, value);
    }
    Ok(response)
}
