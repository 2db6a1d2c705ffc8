//! The orders router and its middleware stack.
//!
//! Guarantees: exactly the routes of the contract are served; an unknown path is a 404
//! problem, a known path with another method a 405 problem (with `Allow`), a panic a 500
//! problem with a generic detail, a handler slower than [`REQUEST_TIMEOUT`] a 503 problem;
//! and, as a last line, any error response that is not already problem+json is turned into
//! one. Every response carries `X-Correlation-Id`. `Authorization` and `Cookie` are redacted
//! from traces, and so are credentials in the query string (`?access_token=…`): the request
//! span logs the URI through [`redact_access_token`].

use std::any::Any;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{Next, from_fn};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use orderflow_auth::redact_access_token;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::correlation::correlate;
use crate::extract::MAX_BODY_BYTES;
use crate::problem::{PROBLEM_JSON, Problem, is_problem};
use crate::routes::{admin, gateway, health, openapi, orders, search};
use crate::{GatewayApi, OrdersApi};

/// The longest a request may take before it is answered 503.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The orders API: `POST /orders`, `GET /orders/{id}`, `POST /orders/{id}/confirm`,
/// `POST /orders/{id}/cancel`, `POST /orders/{id}/subscribers`, `/health/live` and
/// `/health/ready`. Merge it with other routers (the dev issuer's) freely: it brings the
/// fallback (404 problem) and nothing else that conflicts.
pub fn orders_router(api: OrdersApi) -> Router {
    let routes = Router::new()
        .route(
            "/orders",
            post(orders::place_order).get(search::search_orders),
        )
        .route("/orders/{id}", get(orders::get_order))
        .route("/orders/{id}/confirm", post(orders::confirm_order))
        .route("/orders/{id}/cancel", post(orders::cancel_order))
        .route("/orders/{id}/subscribers", post(orders::subscribe_to_order))
        .route(
            "/admin/search/rebuild",
            post(admin::start_rebuild).get(admin::rebuild_status),
        )
        .route("/health/live", get(health::live))
        .route("/health/ready", get(health::ready))
        .route("/openapi.json", get(openapi::openapi))
        .method_not_allowed_fallback(method_not_allowed)
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(api);
    with_middleware(routes)
}

/// The gateway's routes alone (`/api/orders…`), with the middleware stack and no fallback:
/// merge them into a router that has one (the orders router in `orderflow up`).
pub fn gateway_routes(api: GatewayApi) -> Router {
    let routes = Router::new()
        .route(
            "/api/orders",
            post(gateway::create_order).get(gateway::list_orders),
        )
        .route("/api/orders/{id}", get(gateway::get_order))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(api);
    with_middleware(routes)
}

/// A gateway on its own (`orderflow gateway`): its routes, `/health/live`, `/health/ready`
/// (the read model answers) and the 404/405 problem fallbacks.
pub fn gateway_router(api: GatewayApi) -> Router {
    let probes = Router::new()
        .route("/health/live", get(health::live))
        .route("/health/ready", get(gateway::ready))
        .route("/openapi.json", get(openapi::openapi))
        .method_not_allowed_fallback(method_not_allowed)
        .fallback(not_found)
        .with_state(api.clone());
    with_middleware(probes).merge(gateway_routes(api))
}

/// Traces (credentials redacted), correlation ids, problem+json for every error, panics as
/// 500 problems and the request timeout.
fn with_middleware(routes: Router) -> Router {
    routes.layer(
        ServiceBuilder::new()
            .layer(SetSensitiveRequestHeadersLayer::new([
                header::AUTHORIZATION,
                header::COOKIE,
            ]))
            .layer(TraceLayer::new_for_http().make_span_with(request_span))
            .layer(from_fn(correlate))
            .layer(from_fn(problems_only))
            .layer(CatchPanicLayer::custom(panic_problem))
            .layer(TimeoutLayer::with_status_code(
                StatusCode::SERVICE_UNAVAILABLE,
                REQUEST_TIMEOUT,
            )),
    )
}

/// The span of a request: its method, its URI without credentials, its version.
fn request_span(request: &Request) -> tracing::Span {
    tracing::debug_span!(
        "request",
        method = %request.method(),
        uri = %redact_access_token(request.uri()),
        version = ?request.version(),
    )
}

async fn not_found() -> Problem {
    Problem::not_found("no such resource")
}

async fn method_not_allowed() -> Problem {
    Problem::for_status(StatusCode::METHOD_NOT_ALLOWED)
}

/// Turns a panic into a 500 problem; the panic's message goes to the log only.
fn panic_problem(panic: Box<dyn Any + Send + 'static>) -> Response {
    let message = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("(no message)");
    tracing::error!(panic = message, "request handler panicked");
    Problem::internal().into_response()
}

/// The last line: an error response that is not problem+json (a layer's bare status, an
/// extractor we did not wrap) becomes one, keeping its status and headers (`Allow`…).
async fn problems_only(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) || is_problem(&response) {
        return response;
    }
    if status.is_server_error() {
        tracing::warn!(%status, "bare error response replaced by a problem");
    }
    let (mut parts, _body) = response.into_parts();
    let mut problem = Problem::for_status(status);
    if status == StatusCode::SERVICE_UNAVAILABLE && !parts.headers.contains_key(header::RETRY_AFTER)
    {
        problem = problem.retry_after(1);
    }
    let (problem_parts, body) = problem.into_response().into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts
        .headers
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    for (name, value) in &problem_parts.headers {
        if name != header::CONTENT_TYPE {
            parts.headers.insert(name, value.clone());
        }
    }
    Response::from_parts(parts, body)
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::routing::get;
    use tower::ServiceExt;

    use super::*;

    async fn call(router: Router, request: Request) -> Response {
        router.oneshot(request).await.unwrap()
    }

    fn wrapped(router: Router) -> Router {
        router.layer(
            ServiceBuilder::new()
                .layer(from_fn(correlate))
                .layer(from_fn(problems_only))
                .layer(CatchPanicLayer::custom(panic_problem)),
        )
    }

    #[tokio::test]
    async fn a_panic_becomes_a_500_problem_without_details() {
        async fn boom() -> &'static str {
            panic!("secret database password in a panic message")
        }
        let router = wrapped(Router::new().route("/boom", get(boom)));
        let response = call(router, Request::get("/boom").body(Body::empty()).unwrap()).await;
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(is_problem(&response));
        assert!(response.headers().contains_key("x-correlation-id"));
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        assert!(!String::from_utf8_lossy(&bytes).contains("secret"));
    }

    #[tokio::test]
    async fn a_bare_error_status_becomes_a_problem_keeping_its_headers() {
        async fn bare() -> Response {
            (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::ALLOW, "GET")],
                "plain text",
            )
                .into_response()
        }
        let router = wrapped(Router::new().route("/bare", get(bare)));
        let response = call(router, Request::get("/bare").body(Body::empty()).unwrap()).await;
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(is_problem(&response));
        assert_eq!(response.headers()[header::ALLOW], "GET");
        assert_eq!(response.headers()[header::RETRY_AFTER], "1");
    }

    #[tokio::test]
    async fn a_client_supplied_correlation_id_is_echoed_and_junk_is_replaced() {
        let router = wrapped(Router::new().route("/ok", get(|| async { "ok" })));
        let id = "0190f0c2-7c4e-7b7a-9a1e-2b8d1c3e4f50";
        let request = Request::get("/ok")
            .header("x-correlation-id", id)
            .body(Body::empty())
            .unwrap();
        let response = call(router.clone(), request).await;
        assert_eq!(response.headers()["x-correlation-id"], id);

        let request = Request::get("/ok")
            .header("x-correlation-id", "not a uuid")
            .body(Body::empty())
            .unwrap();
        let response = call(router, request).await;
        let echoed = response.headers()["x-correlation-id"].to_str().unwrap();
        assert!(uuid::Uuid::try_parse(echoed).is_ok());
    }
}
