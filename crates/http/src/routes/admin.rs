//! `POST /admin/search/rebuild` and `GET /admin/search/rebuild` (admins).
//!
//! Guarantees: only admins reach them (401 without a token, 403 otherwise);
//! a service without a rebuildable index answers 404; starting while a
//! rebuild runs answers 409; a start answers 202 with `Location` to follow
//! it. The rebuild runs in the background: searches keep being answered
//! from the old index until the fresh one is swapped in.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use orderflow_app::AppError;

use crate::extract::Caller;
use crate::problem::Problem;
use crate::{OrdersApi, SearchRebuilds};

/// Where a rebuild is started and followed.
const REBUILD_PATH: &str = "/admin/search/rebuild";

fn rebuilds(
    api: &OrdersApi,
    caller: &Caller,
) -> Result<std::sync::Arc<dyn SearchRebuilds>, Problem> {
    if !caller.0.actor.is_admin {
        return Err(AppError::Forbidden("only admins rebuild the search index").into());
    }
    api.search
        .as_ref()
        .and_then(|search| search.rebuilds.clone())
        .ok_or_else(|| Problem::not_found("this service has no rebuildable search index"))
}

/// `POST /admin/search/rebuild`.
pub(crate) async fn start_rebuild(
    State(api): State<OrdersApi>,
    caller: Caller,
) -> Result<Response, Problem> {
    let rebuilds = rebuilds(&api, &caller)?;
    if !rebuilds.start() {
        return Err(Problem::new(
            StatusCode::CONFLICT,
            "rebuild_running",
            "Conflict",
            "a search rebuild is already running; follow it at /admin/search/rebuild",
        ));
    }
    let mut response = (StatusCode::ACCEPTED, Json(rebuilds.status())).into_response();
    response
        .headers_mut()
        .insert(header::LOCATION, HeaderValue::from_static(REBUILD_PATH));
    Ok(response)
}

/// `GET /admin/search/rebuild`.
pub(crate) async fn rebuild_status(
    State(api): State<OrdersApi>,
    caller: Caller,
) -> Result<Json<serde_json::Value>, Problem> {
    Ok(Json(rebuilds(&api, &caller)?.status()))
}
