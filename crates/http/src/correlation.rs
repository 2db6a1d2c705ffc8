//! The correlation id of a request: `X-Correlation-Id`.
//!
//! Guarantees: every request handled by the orders router has exactly one correlation id — the
//! client's, when it sent a valid UUID, otherwise a fresh UUID v7 — available to handlers as a
//! [`CorrelationId`] extension, used in the [`orderflow_app::RequestContext`], and echoed on
//! every response, errors included.

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;
use uuid::Uuid;

/// The header that carries the correlation id, both ways.
pub const CORRELATION_ID_HEADER: HeaderName = HeaderName::from_static("x-correlation-id");

/// The request's correlation id (a request extension).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CorrelationId(pub Uuid);

/// Middleware: reads or mints the correlation id, stores it, echoes it.
pub(crate) async fn correlate(mut request: Request, next: Next) -> Response {
    let correlation_id = request
        .headers()
        .get(&CORRELATION_ID_HEADER)
        .and_then(|value| value.to_str().ok())
        .and_then(|text| Uuid::try_parse(text.trim()).ok())
        .unwrap_or_else(Uuid::now_v7);
    request
        .extensions_mut()
        .insert(CorrelationId(correlation_id));
    let span = tracing::info_span!("correlated", correlation_id = %correlation_id);
    let mut response = next.run(request).instrument(span).await;
    if let Ok(value) = HeaderValue::from_str(&correlation_id.to_string()) {
        response.headers_mut().insert(CORRELATION_ID_HEADER, value);
    }
    response
}
