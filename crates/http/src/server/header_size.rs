//! Refusing oversized request headers with a problem, while hyper still can.
//!
//! Guarantees: a request whose headers (names, values and their separators) add up to more
//! than [`MAX_HEADER_BYTES`] is answered 431 `application/problem+json` and reaches no
//! route. Beyond [`HYPER_MAX_HEADER_BYTES`] hyper refuses the head while parsing it, with
//! its own bodiless 431, and closes the connection; that is the most a connection buffers.

use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::problem::Problem;

/// The most header bytes a request may carry (tokens of a few KiB and cookies fit easily).
pub const MAX_HEADER_BYTES: usize = 32 * 1024;
/// Where hyper stops reading a request head (request line and headers).
pub const HYPER_MAX_HEADER_BYTES: usize = 64 * 1024;

/// The middleware: 431 problem for headers over [`MAX_HEADER_BYTES`].
pub(super) async fn refuse_oversized_headers(request: Request, next: Next) -> Response {
    let header_bytes: usize = request
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum();
    if header_bytes > MAX_HEADER_BYTES {
        return Problem::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "headers_too_large",
            "Request header fields too large",
            format!("the request's headers are larger than {MAX_HEADER_BYTES} bytes"),
        )
        .into_response();
    }
    next.run(request).await
}
