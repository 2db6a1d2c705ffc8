//! Request metrics for every router: a middleware recording, through the
//! `metrics` facade, `orderflow_http_requests_total{method, route, status}`
//! and `orderflow_http_request_duration_seconds{method, route}`.
//!
//! Guarantees: every label value comes from a closed set, so no client can
//! grow the number of series (or the memory behind them):
//! * `method` is one of the nine standard methods (`GET`, `HEAD`, `POST`,
//!   `PUT`, `DELETE`, `PATCH`, `OPTIONS`, `CONNECT`, `TRACE`) or `other`;
//! * `route` is the matched route template (`/orders/{id}`), never the
//!   request's path, so ids and query strings (the hub's `access_token`)
//!   never become label values; requests no route matched are `unmatched`;
//! * `status` is the three-digit status code of the answer.

use axum::extract::{MatchedPath, Request};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;

/// The `route` label of a request no route matched.
const UNMATCHED_ROUTE: &str = "unmatched";
/// The `method` label of a method outside the standard nine.
const OTHER_METHOD: &str = "other";

/// The middleware; apply it with `axum::middleware::from_fn(record_request)`
/// as the outermost layer of the merged router.
pub async fn record_request(request: Request, next: Next) -> Response {
    let started = std::time::Instant::now();
    let method = method_label(request.method());
    let route = request.extensions().get::<MatchedPath>().map_or_else(
        || UNMATCHED_ROUTE.to_owned(),
        |path| path.as_str().to_owned(),
    );
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::histogram!(
        "orderflow_http_request_duration_seconds",
        "method" => method,
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

/// The `method` label: a standard method's name, anything else `other`.
fn method_label(method: &Method) -> &'static str {
    const STANDARD: [Method; 9] = [
        Method::GET,
        Method::HEAD,
        Method::POST,
        Method::PUT,
        Method::DELETE,
        Method::PATCH,
        Method::OPTIONS,
        Method::CONNECT,
        Method::TRACE,
    ];
    STANDARD
        .iter()
        .find(|standard| *standard == method)
        .map_or(OTHER_METHOD, Method::as_str)
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::body::Body;
    use axum::middleware::from_fn;
    use axum::routing::get;
    use metrics_exporter_prometheus::PrometheusBuilder;
    use tower::ServiceExt;

    use super::*;
    use orderflow_testkit::local_metrics::block_on_recorded;

    /// Sends `requests` through a router with the middleware, under a recorder of
    /// this thread only, and returns what a scrape would show.
    fn scrape_after(requests: Vec<Request>) -> String {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        block_on_recorded(&recorder, async {
            let router = Router::new()
                .route("/orders/{id}", get(|| async { "order" }))
                .layer(from_fn(record_request));
            for request in requests {
                router.clone().oneshot(request).await.unwrap();
            }
        });
        handle.render()
    }

    fn request(method: &str, path: &str) -> Request {
        Request::builder()
            .method(method)
            .uri(path)
            .body(Body::empty())
            .unwrap()
    }

    #[test]
    fn client_chosen_methods_and_paths_never_become_label_values() {
        let junk_methods: Vec<String> = (0..50)
            .map(|n| format!("JUNK{n}{}", "X".repeat(3_000)))
            .collect();
        let mut requests: Vec<Request> = junk_methods
            .iter()
            .map(|method| request(method, &format!("/nowhere/{method}")))
            .collect();
        requests.push(request(
            "GET",
            "/orders/0190f0c2-7c4e-7b7a-9a1e-2b8d1c3e4f50",
        ));
        let text = scrape_after(requests);

        assert!(!text.contains("JUNK"), "a client's method became a label");
        assert!(!text.contains("/nowhere"), "a client's path became a label");
        assert!(!text.contains("0190f0c2"), "an id became a label");
        assert!(
            text.contains(
                r#"orderflow_http_requests_total{method="other",route="unmatched",status="404"} 50"#
            ),
            "{text}"
        );
        assert!(
            text.contains(
                r#"orderflow_http_requests_total{method="GET",route="/orders/{id}",status="200"} 1"#
            ),
            "{text}"
        );
        assert!(text.len() < 10_000, "{} bytes", text.len());
    }

    #[test]
    fn standard_methods_keep_their_names() {
        assert_eq!(method_label(&Method::DELETE), "DELETE");
        assert_eq!(
            method_label(&Method::from_bytes(b"PROPFIND").unwrap()),
            "other"
        );
        assert_eq!(method_label(&Method::from_bytes(b"get").unwrap()), "other");
    }
}
