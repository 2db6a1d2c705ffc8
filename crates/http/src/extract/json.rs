//! JSON request bodies, with every refusal as a problem.
//!
//! Guarantees, in this order:
//! - a body over [`MAX_BODY_BYTES`] → 413 `body_too_large` (a declared `Content-Length` is
//!   refused before reading; a streamed body stops at the limit);
//! - a body that is not `application/json` (or `application/*+json`) → 415
//!   `unsupported_media_type`;
//! - not JSON, a syntax error, trailing data, a wrong type, a missing field, members the
//!   body's type does not know (every one of them named) → 400 `malformed_body`, as
//!   [`super::json_parse`] says.
//!
//! Nothing here ever answers 5xx for a bad body. Values that parse but break the domain's rules
//! (zero quantity, unknown currency…) are not this module's business: the mediator's
//! validation answers them with 422.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, StatusCode, header};
use serde::de::DeserializeOwned;

use super::json_parse::{malformed, parse};
use crate::problem::Problem;

/// The largest request body accepted: 64 KiB.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// A JSON body deserialized into `T`; the body is required.
#[derive(Debug, Clone)]
pub struct JsonBody<T>(pub T);

/// A JSON body deserialized into `T`, or `None` when the request has no body at all.
#[derive(Debug, Clone)]
pub struct OptionalJsonBody<T>(pub Option<T>);

impl<S, T> FromRequest<S> for JsonBody<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = Problem;

    async fn from_request(request: Request, state: &S) -> Result<Self, Problem> {
        refuse_declared_oversize(request.headers())?;
        require_json(request.headers())?;
        let bytes = read_body(request, state).await?;
        parse(&bytes).map(JsonBody)
    }
}

impl<S, T> FromRequest<S> for OptionalJsonBody<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = Problem;

    async fn from_request(request: Request, state: &S) -> Result<Self, Problem> {
        refuse_declared_oversize(request.headers())?;
        let headers = request.headers().clone();
        let bytes = read_body(request, state).await?;
        if bytes.is_empty() {
            return Ok(OptionalJsonBody(None));
        }
        require_json(&headers)?;
        parse(&bytes).map(|value| OptionalJsonBody(Some(value)))
    }
}

fn too_large() -> Problem {
    Problem::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "body_too_large",
        "Request body too large",
        format!("a request body has at most {MAX_BODY_BYTES} bytes"),
    )
}

/// 413 when `Content-Length` already says the body is too large.
fn refuse_declared_oversize(headers: &HeaderMap) -> Result<(), Problem> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|text| text.trim().parse::<u64>().ok());
    match declared {
        Some(length) if length > MAX_BODY_BYTES as u64 => Err(too_large()),
        _ => Ok(()),
    }
}

/// 415 unless the content type is JSON.
fn require_json(headers: &HeaderMap) -> Result<(), Problem> {
    let essence = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .map(|text| {
            text.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        });
    let is_json = essence.as_deref().is_some_and(|essence| {
        essence == "application/json"
            || (essence.starts_with("application/") && essence.ends_with("+json"))
    });
    if is_json {
        return Ok(());
    }
    Err(Problem::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
        "Unsupported media type",
        "send the body as application/json",
    ))
}

/// The whole body, at most [`MAX_BODY_BYTES`] (the router sets that limit).
async fn read_body<S: Send + Sync>(request: Request, state: &S) -> Result<Bytes, Problem> {
    let bytes = Bytes::from_request(request, state)
        .await
        .map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                too_large()
            } else {
                tracing::debug!(%rejection, "request body unreadable");
                malformed("the request body could not be read")
            }
        })?;
    if bytes.len() > MAX_BODY_BYTES {
        return Err(too_large());
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_media_types_are_recognised() {
        let mut headers = HeaderMap::new();
        assert!(require_json(&headers).is_err());
        for (value, ok) in [
            ("application/json", true),
            ("Application/JSON; charset=utf-8", true),
            ("application/merge-patch+json", true),
            ("text/plain", false),
            ("application/x-www-form-urlencoded", false),
        ] {
            headers.insert(header::CONTENT_TYPE, value.parse().unwrap());
            assert_eq!(require_json(&headers).is_ok(), ok, "{value}");
        }
    }
}
