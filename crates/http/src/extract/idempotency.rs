//! The `Idempotency-Key` request header.
//!
//! Guarantees: absent → `None`; a valid key (1 to 255 printable ASCII characters) →
//! `Some(key)`; anything else → 400 problem, before the body is read or anything is written.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderName, StatusCode};
use orderflow_app::IdempotencyKey;

use crate::problem::Problem;

/// The header name.
pub const IDEMPOTENCY_KEY_HEADER: HeaderName = HeaderName::from_static("idempotency-key");

/// The request's idempotency key, if it sent one.
#[derive(Debug, Clone)]
pub struct IdempotencyKeyHeader(pub Option<IdempotencyKey>);

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyKeyHeader {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Problem> {
        let mut values = parts.headers.get_all(&IDEMPOTENCY_KEY_HEADER).iter();
        let Some(value) = values.next() else {
            return Ok(IdempotencyKeyHeader(None));
        };
        if values.next().is_some() {
            return Err(invalid("send one Idempotency-Key header, not several"));
        }
        let text = value
            .to_str()
            .map_err(|_| invalid("an idempotency key is 1 to 255 printable ASCII characters"))?;
        let key = IdempotencyKey::parse(text).map_err(|error| invalid(error.to_string()))?;
        Ok(IdempotencyKeyHeader(Some(key)))
    }
}

fn invalid(detail: impl Into<String>) -> Problem {
    Problem::new(
        StatusCode::BAD_REQUEST,
        "invalid_idempotency_key",
        "Invalid Idempotency-Key header",
        detail,
    )
}
