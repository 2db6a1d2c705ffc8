//! `GET /orders?status=&q=&buyerId=&from=&to=&limit=&cursor=&minPosition=`:
//! search the order projection.
//!
//! Guarantees: a buyer sees only their own orders whatever they ask for (the
//! query is built from the caller: [`SearchQuery::for_actor`]; naming another
//! buyer is a 403); results are newest first with an opaque `nextCursor`;
//! `total` counts every match. With `minPosition` (the `Orderflow-Position`
//! of a write) the answer waits, at most [`READ_YOUR_WRITES_WAIT`], until the
//! projection has indexed that position, and says in `upToDate` whether it
//! did; `Orderflow-Search-Position` tells how far the index was.

use std::time::Duration;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use orderflow_app::AppError;
use orderflow_app::ports::{Position, SearchCursor, SearchError, SearchQuery, SearchQueryError};
use orderflow_domain::{OrderStatus, UserId};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::OrdersApi;
use crate::extract::Caller;
use crate::problem::Problem;
use crate::view::OrderView;

/// How long a search waits for the projection to reach `minPosition`.
pub const READ_YOUR_WRITES_WAIT: Duration = Duration::from_secs(2);

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

fn timestamp(name: &str, text: &str) -> Result<OffsetDateTime, Problem> {
    OffsetDateTime::parse(text, &Rfc3339)
        .map_err(|_| Problem::bad_query(format!("`{name}` must be an RFC 3339 timestamp")))
}

fn query_error(error: SearchQueryError) -> Problem {
    match error {
        SearchQueryError::NotAllowed | SearchQueryError::OtherBuyer => Problem::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "Forbidden",
            error.to_string(),
        ),
        other => Problem::bad_query(other.to_string()),
    }
}

fn build_query(caller: &Caller, params: SearchParams) -> Result<SearchQuery, Problem> {
    let mut query = SearchQuery::for_actor(&caller.0.actor).map_err(query_error)?;
    if let Some(status) = &params.status {
        let status = OrderStatus::parse(status).ok_or_else(|| {
            Problem::bad_query("`status` is one of pending, confirmed, cancelled")
        })?;
        query = query.with_status(status);
    }
    if let Some(text) = params.q.as_deref().filter(|text| !text.trim().is_empty()) {
        query = query.with_text(text).map_err(query_error)?;
    }
    if let Some(buyer) = &params.buyer_id {
        let buyer = UserId::parse(buyer).map_err(|error| Problem::bad_query(error.to_string()))?;
        query = query.with_buyer(buyer).map_err(query_error)?;
    }
    if params.from.is_some() || params.to.is_some() {
        let from = params
            .from
            .as_deref()
            .map(|t| timestamp("from", t))
            .transpose()?;
        let to = params
            .to
            .as_deref()
            .map(|t| timestamp("to", t))
            .transpose()?;
        query = query.with_created_between(from, to).map_err(query_error)?;
    }
    if let Some(limit) = params.limit {
        query = query.with_limit(limit).map_err(query_error)?;
    }
    if let Some(cursor) = &params.cursor {
        query = query.after(SearchCursor::parse(cursor).map_err(query_error)?);
    }
    Ok(query)
}

/// `GET /orders`.
pub(crate) async fn search_orders(
    State(api): State<OrdersApi>,
    caller: Caller,
    params: Result<Query<SearchParams>, QueryRejection>,
) -> Result<Response, Problem> {
    let Query(params) = params.map_err(|rejection| Problem::bad_query(rejection.body_text()))?;
    let Some(search) = api.search.clone() else {
        return Err(Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "search_unavailable",
            "Search unavailable",
            "search is not configured on this instance",
        ));
    };
    let min_position = params.min_position.map(Position::new);
    let query = build_query(&caller, params)?;

    let mut progress = search.progress.clone();
    let up_to_date = match min_position {
        None => true,
        Some(wanted) => tokio::time::timeout(
            READ_YOUR_WRITES_WAIT,
            progress.wait_for(|reached| *reached >= wanted),
        )
        .await
        .is_ok_and(|waited| waited.is_ok()),
    };
    let position = *progress.borrow();

    let page = search.index.search(&query).await.map_err(|error| {
        Problem::from(match error {
            SearchError::Unavailable(reason) => AppError::Unavailable(reason),
            SearchError::Corrupt(reason) => AppError::Internal(reason),
        })
    })?;
    let items = page
        .items
        .iter()
        .map(OrderView::of_document)
        .collect::<Result<Vec<_>, _>>()?;
    let body = SearchResponse {
        items,
        total: page.total,
        next_cursor: page.next_cursor.map(|cursor| cursor.to_string()),
        position: position.value(),
        up_to_date,
    };
    let mut response = Json(body).into_response();
    if let Ok(value) = HeaderValue::from_str(&position.to_string()) {
        response.headers_mut().insert(SEARCH_POSITION_HEADER, value);
    }
    Ok(response)
}
