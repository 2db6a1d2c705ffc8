//! Liveness and readiness probes; neither needs a token.
//!
//! Guarantees: `/health/live` answers 200 while the process serves HTTP; `/health/ready`
//! answers 200 only when the event store answers `head()`, else 503 problem+json with
//! `Retry-After`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::OrdersApi;
use crate::problem::Problem;

/// `GET /health/live`.
pub(crate) async fn live() -> Json<Value> {
    Json(json!({ "status": "live" }))
}

/// `GET /health/ready`.
pub(crate) async fn ready(State(api): State<OrdersApi>) -> Result<Json<Value>, Problem> {
    match api.store.head().await {
        Ok(position) => Ok(Json(json!({
            "status": "ready",
            "position": position.value(),
        }))),
        Err(error) => {
            tracing::warn!(%error, "not ready: the event store does not answer");
            Err(Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "not_ready",
                "Service unavailable",
                "the event store does not answer",
            )
            .retry_after(1))
        }
    }
}
