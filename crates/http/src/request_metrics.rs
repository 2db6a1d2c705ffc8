//! Request metrics for every router: a middleware recording, through the
//! `metrics` facade, `orderflow_http_requests_total{method, route, status}`
//! and `orderflow_http_request_duration_seconds{method, route}`.
//!
//! Guarantees: the `route` label is the matched route template
//! (`/orders/{id}`), never the request's path, so ids and query strings
//! (the hub's `access_token`) never become label values and the number of
//! series stays bounded; requests no route matched are labelled `unmatched`.

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;

/// The middleware; apply it with `axum::middleware::from_fn(record_request)`
/// as the outermost layer of the merged router.
pub async fn record_request(request: Request, next: Next) -> Response {
    let started = std::time::Instant::now();
    let method = request.method().as_str().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::histogram!(
        "orderflow_http_request_duration_seconds",
        "method" => method.clone(),
        "route" => route.clone()
    )
    .record(started.elapsed().as_secs_f64());
    metrics::counter!(
        "orderflow_http_requests_total",
        "method" => method,
        "route" => route,
        "status" => status
    )
    .increment(1);
    response
}
