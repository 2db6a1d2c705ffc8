//! Problem details (RFC 9457): the one shape of every error this crate emits.
//!
//! Guarantees: every error response of the orders API is `application/problem+json` with
//! `type`, `title`, `status`, `detail` and a stable machine `code`; validation failures add
//! `errors: [{path, code, message}]`. Server-side failures carry a generic detail only: the
//! real cause goes to the logs, never to the client.

use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use orderflow_domain::FieldError;
use serde::Serialize;

/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// Prefix of every problem `type` URI; the code follows.
const TYPE_PREFIX: &str = "urn:orderflow:problem:";

/// An HTTP error, ready to be sent as `application/problem+json`.
#[derive(Debug, Clone)]
pub struct Problem {
    status: StatusCode,
    code: &'static str,
    title: &'static str,
    detail: String,
    errors: Vec<FieldError>,
    headers: Vec<(HeaderName, HeaderValue)>,
}

/// The JSON body of a [`Problem`].
#[derive(Serialize)]
struct ProblemBody<'a> {
    #[serde(rename = "type")]
    type_uri: String,
    title: &'static str,
    status: u16,
    detail: &'a str,
    code: &'static str,
    #[serde(skip_serializing_if = "<[FieldError]>::is_empty")]
    errors: &'a [FieldError],
}

impl Problem {
    /// A problem with a status, a stable `code`, a short `title` and a `detail` for people.
    pub fn new(
        status: StatusCode,
        code: &'static str,
        title: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        Problem {
            status,
            code,
            title,
            detail: detail.into(),
            errors: Vec::new(),
            headers: Vec::new(),
        }
    }

    /// Lists the invalid fields (`errors` member).
    pub fn with_errors(mut self, errors: Vec<FieldError>) -> Self {
        self.errors = errors;
        self
    }

    /// Adds a response header (`Retry-After`, `WWW-Authenticate`, `Allow`…).
    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }

    /// Adds `Retry-After: {seconds}`.
    pub fn retry_after(self, seconds: u32) -> Self {
        self.with_header(header::RETRY_AFTER, HeaderValue::from(seconds))
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The stable machine code.
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// The detail for people.
    pub fn detail(&self) -> &str {
        &self.detail
    }

    /// The invalid fields, if any.
    pub fn errors(&self) -> &[FieldError] {
        &self.errors
    }

    /// 400 for a query string this API does not accept.
    pub fn bad_query(detail: impl Into<String>) -> Self {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "invalid_query",
            "Invalid query",
            detail,
        )
    }

    /// 404 for an unknown order (or one the caller may not see) and for unknown routes.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Problem::new(StatusCode::NOT_FOUND, "not_found", "Not found", detail)
    }

    /// 500 with a generic detail; the caller logs the cause.
    pub fn internal() -> Self {
        Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "Internal server error",
            "something went wrong on our side; it has been logged",
        )
    }

    /// A problem for a bare status produced outside our handlers (a timeout, a layer's
    /// refusal): the code and title follow the status.
    pub fn for_status(status: StatusCode) -> Self {
        let (code, title, detail) = match status {
            StatusCode::NOT_FOUND => ("not_found", "Not found", "no such resource"),
            StatusCode::METHOD_NOT_ALLOWED => (
                "method_not_allowed",
                "Method not allowed",
                "this resource does not support the request's method; see the Allow header",
            ),
            StatusCode::PAYLOAD_TOO_LARGE => (
                "body_too_large",
                "Request body too large",
                "the request body is larger than allowed",
            ),
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => (
                "headers_too_large",
                "Request header fields too large",
                "the request's headers are larger than allowed",
            ),
            StatusCode::REQUEST_TIMEOUT | StatusCode::SERVICE_UNAVAILABLE => (
                "unavailable",
                "Service unavailable",
                "the request could not be completed in time; retry shortly",
            ),
            status if status.is_server_error() => (
                "internal_error",
                "Internal server error",
                "something went wrong on our side; it has been logged",
            ),
            _ => ("bad_request", "Bad request", "the request was refused"),
        };
        Problem::new(status, code, title, detail)
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let body = ProblemBody {
            type_uri: format!("{TYPE_PREFIX}{}", self.code),
            title: self.title,
            status: self.status.as_u16(),
            detail: &self.detail,
            code: self.code,
            errors: &self.errors,
        };
        let bytes = match serde_json::to_vec(&body) {
            Ok(bytes) => bytes,
            Err(error) => {
                tracing::error!(%error, "problem body does not serialize");
                br#"{"type":"urn:orderflow:problem:internal_error","title":"Internal server error","status":500,"code":"internal_error"}"#.to_vec()
            }
        };
        let mut response = (
            self.status,
            [(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON))],
            bytes,
        )
            .into_response();
        for (name, value) in self.headers {
            response.headers_mut().append(name, value);
        }
        response
    }
}

/// Whether a response already is a problem (its content type is problem+json).
pub(crate) fn is_problem(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with(PROBLEM_JSON))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_problem_is_sent_as_problem_json_with_its_headers() {
        let response = Problem::new(StatusCode::CONFLICT, "already_confirmed", "Conflict", "no")
            .retry_after(1)
            .into_response();
        assert_eq!(response.status(), StatusCode::CONFLICT);
        assert!(is_problem(&response));
        assert_eq!(response.headers()[header::RETRY_AFTER], "1");
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let json: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "type": "urn:orderflow:problem:already_confirmed",
                "title": "Conflict",
                "status": 409,
                "detail": "no",
                "code": "already_confirmed",
            })
        );
    }
}
