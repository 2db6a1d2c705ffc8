//! `POST /admin/search/rebuild` and `GET /admin/search/rebuild` (admins).
//!
//! Guarantees: each is one mediator request (`orderflow_app::orders::search`
//! decides: 401 without a token, 403 for non-admins, 404 where the index
//! cannot be rebuilt, 409 while one runs); a start answers 202 with
//! `Location` to follow it. The rebuild runs in the background: searches
//! keep being answered from the old index until the fresh one is swapped in.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use orderflow_app::orders::search::{
    RebuildStatus, SearchRebuildStatusRequest, StartSearchRebuildRequest,
};
use serde_json::{Value, json};

use crate::OrdersApi;
use crate::extract::Caller;
use crate::problem::Problem;

/// Where a rebuild is started and followed.
const REBUILD_PATH: &str = "/admin/search/rebuild";

/// `POST /admin/search/rebuild`.
pub(crate) async fn start_rebuild(
    State(api): State<OrdersApi>,
    Caller(context): Caller,
) -> Result<Response, Problem> {
    let status = api
        .mediator
        .send(&context, StartSearchRebuildRequest)
        .await?;
    let mut response = (StatusCode::ACCEPTED, Json(status_json(&status))).into_response();
    response
        .headers_mut()
        .insert(header::LOCATION, HeaderValue::from_static(REBUILD_PATH));
    Ok(response)
}

/// `GET /admin/search/rebuild`.
pub(crate) async fn rebuild_status(
    State(api): State<OrdersApi>,
    Caller(context): Caller,
) -> Result<Json<Value>, Problem> {
    let status = api
        .mediator
        .send(&context, SearchRebuildStatusRequest)
        .await?;
    Ok(Json(status_json(&status)))
}

/// `{"state": "idle" | "running" | "done" | "failed", …}`.
fn status_json(status: &RebuildStatus) -> Value {
    match status {
        RebuildStatus::Idle => json!({ "state": "idle" }),
        RebuildStatus::Running => json!({ "state": "running" }),
        RebuildStatus::Done {
            position,
            elapsed,
            paused,
        } => json!({
            "state": "done",
            "position": position.value(),
            "elapsedMs": elapsed.as_millis() as u64,
            "pausedMs": paused.as_millis() as u64,
        }),
        RebuildStatus::Failed(reason) => json!({ "state": "failed", "reason": reason }),
    }
}
