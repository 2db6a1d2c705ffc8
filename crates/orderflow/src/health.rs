//! Liveness and readiness probes of the components without an event store, in the shape the
//! orders API and the gateway answer them (`orderflow-http`'s health routes); neither needs a
//! token.
//!
//! Guarantees: `/health/live` answers 200 while the process serves HTTP; `/health/ready`
//! answers 200 only while the component's readiness signal is true — the push hub: its
//! broker subscription is in place; the dev issuer: its signing key is loaded — else 503
//! problem+json with `Retry-After`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use orderflow_http::Problem;
use serde_json::{Value, json};
use tokio::sync::watch;

/// What `/health/ready` reads: the signal, and what it means while false (for the detail).
#[derive(Debug, Clone)]
struct Readiness {
    ready: watch::Receiver<bool>,
    waiting_for: &'static str,
}

/// `/health/live` and `/health/ready`, ready while `ready` is true; `waiting_for` describes
/// what is missing otherwise (e.g. "the broker subscription is not in place yet").
pub(crate) fn health_router(ready: watch::Receiver<bool>, waiting_for: &'static str) -> Router {
    Router::new()
        .route("/health/live", get(live))
        .route("/health/ready", get(is_ready))
        .with_state(Readiness { ready, waiting_for })
}

async fn live() -> Json<Value> {
    Json(json!({ "status": "live" }))
}

async fn is_ready(State(readiness): State<Readiness>) -> Result<Json<Value>, Problem> {
    if *readiness.ready.borrow() {
        return Ok(Json(json!({ "status": "ready" })));
    }
    Err(Problem::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "not_ready",
        "Service unavailable",
        readiness.waiting_for,
    )
    .retry_after(1))
}
