//! A deadline on every request, however slowly its client sends it.
//!
//! Guarantees: a request that is not answered within the deadline — typically one whose
//! body trickles in a byte at a time, which neither the header read timeout nor the idle
//! timeout ends — is answered 408 problem+json (`request_timeout`) with
//! `Connection: close`, and whatever was waiting on it is dropped. A WebSocket is not
//! affected: its upgrade is answered at once, and the socket lives on outside the request.

use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::problem::Problem;

/// The middleware; its state is the deadline.
pub(super) async fn within_deadline(
    State(deadline): State<Duration>,
    request: Request,
    next: Next,
) -> Response {
    match tokio::time::timeout(deadline, next.run(request)).await {
        Ok(response) => response,
        Err(_elapsed) => {
            let mut response = Problem::new(
                StatusCode::REQUEST_TIMEOUT,
                "request_timeout",
                "Request timeout",
                format!(
                    "the request was not completed within {} s; send it faster",
                    deadline.as_secs()
                ),
            )
            .into_response();
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            response
        }
    }
}
