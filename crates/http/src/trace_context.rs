//! W3C Trace Context on every HTTP request: the server span of a request continues the
//! client's `traceparent` (and `tracestate`) when it sent a valid one, and starts a trace
//! when it did not; what the request does (the mediator, the events it appends, the
//! messages it sends) runs inside that span, so it all joins one trace. A client's trace
//! that is not sampled (flags `00`) gets no server span of ours: the request's span is kept
//! out of OpenTelemetry and hands the client's context on as it came.
//!
//! Guarantees: applied like [`crate::record_request`], as a layer of the merged router of
//! every command, so every request is covered (unmatched ones too); a malformed
//! `traceparent` is ignored (a new trace), never an error; the span is named after the
//! matched route (`POST /orders/{id}/confirm`), never after the path, so ids do not become
//! span names.

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use orderflow_app::TraceContext;
use tracing::Instrument;
use tracing::field::Empty;

/// The middleware; apply it with `axum::middleware::from_fn(trace_request)` as a layer of
/// the merged router (inside routing, where the matched route is known).
pub async fn trace_request(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_owned());
    let name = match &route {
        Some(route) => format!("{} {route}", request.method()),
        None => request.method().to_string(),
    };
    let carried = TraceContext::from_headers(|name| {
        request
            .headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
    });
    let span = orderflow_app::hop_span!(
        &carried,
        "HTTP request",
        otel.name = %name,
        otel.kind = "server",
        http.request.method = %request.method(),
        http.route = route,
        url.path = %request.uri().path(),
        http.response.status_code = Empty,
    );
    let response = next.run(request).instrument(span.clone()).await;
    span.record("http.response.status_code", response.status().as_u16());
    response
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::body::Body;
    use axum::http::Request as HttpRequest;
    use axum::middleware::from_fn;
    use axum::routing::get;
    use opentelemetry::trace::TracerProvider as _;
    use tower::ServiceExt;
    use tracing_subscriber::layer::SubscriberExt;

    use super::*;

    const CLIENT_TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
    const CLIENT_SPAN_ID: &str = "00f067aa0ba902b7";

    /// Records spans with OpenTelemetry on this thread until dropped.
    fn traced() -> tracing::subscriber::DefaultGuard {
        let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder().build();
        let subscriber = tracing_subscriber::registry()
            .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
        tracing::subscriber::set_default(subscriber)
    }

    /// What a handler sees as its trace context, for a request with `traceparent`.
    async fn seen_by_the_handler(traceparent: Option<&str>) -> TraceContext {
        async fn current() -> String {
            TraceContext::current()
                .traceparent()
                .unwrap_or_default()
                .to_owned()
        }
        let router = Router::new()
            .route("/", get(current))
            .layer(from_fn(trace_request));
        let mut request = HttpRequest::get("/");
        if let Some(traceparent) = traceparent {
            request = request.header("traceparent", traceparent);
        }
        let response = router
            .oneshot(request.body(Body::empty()).unwrap())
            .await
            .unwrap();
        let body = axum::body::to_bytes(response.into_body(), 1024)
            .await
            .unwrap();
        let text = String::from_utf8(body.to_vec()).unwrap();
        TraceContext::from_stored(Some(text), None)
    }

    #[tokio::test]
    async fn a_client_traceparent_is_continued_not_replaced() {
        let _traced = traced();
        let client = format!("00-{CLIENT_TRACE_ID}-{CLIENT_SPAN_ID}-01");
        let seen = seen_by_the_handler(Some(&client)).await;
        assert_eq!(seen.trace_id().as_deref(), Some(CLIENT_TRACE_ID));
        assert_ne!(
            seen.traceparent(),
            Some(client.as_str()),
            "a span of its own"
        );
    }

    #[tokio::test]
    async fn without_a_traceparent_or_with_a_malformed_one_a_trace_is_started() {
        let _traced = traced();
        for sent in [None, Some("00-zz-01")] {
            let seen = seen_by_the_handler(sent).await;
            let trace_id = seen.trace_id();
            assert!(trace_id.is_some(), "{sent:?}");
            assert_ne!(trace_id.as_deref(), Some(CLIENT_TRACE_ID));
        }
    }
}
