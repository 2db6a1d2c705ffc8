//! OAuth 2.0 error answers (RFC 6749 §5.2) with Keycloak's wording.
//!
//! Guarantees: every refusal of the token endpoint is a JSON
//! `{ "error", "error_description" }` with a 4xx status (`invalid_client` is 401 with a
//! `WWW-Authenticate` challenge, bad user credentials 401, too many failed logins 429 with
//! `Retry-After`, everything else 400/413), and
//! carries `Cache-Control: no-store`.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// A refusal of the token endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OAuthError {
    status: StatusCode,
    error: &'static str,
    description: String,
    /// Seconds, for `Retry-After`.
    retry_after: Option<u64>,
}

#[derive(Serialize)]
struct OAuthErrorBody<'a> {
    error: &'a str,
    error_description: &'a str,
}

impl OAuthError {
    fn new(status: StatusCode, error: &'static str, description: impl Into<String>) -> Self {
        Self {
            status,
            error,
            description: description.into(),
            retry_after: None,
        }
    }

    /// 400 `invalid_request`: a parameter is missing, repeated or unreadable.
    pub(crate) fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", description)
    }

    /// 413 `invalid_request`: the body is larger than the endpoint accepts.
    pub(crate) fn body_too_large() -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalid_request",
            "Request body too large",
        )
    }

    /// 401 `invalid_client`: unknown client or wrong client secret.
    pub(crate) fn invalid_client() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Invalid client or Invalid client credentials",
        )
    }

    /// 401 `invalid_grant`: wrong username or password.
    pub(crate) fn invalid_user_credentials() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "invalid_grant",
            "Invalid user credentials",
        )
    }

    /// 429 `invalid_grant`: too many failed logins for this user or from this address;
    /// `Retry-After` says when the next try counts.
    pub(crate) fn too_many_failed_logins(retry_in: std::time::Duration) -> Self {
        let mut refusal = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "invalid_grant",
            "Too many failed logins; try again later",
        );
        refusal.retry_after = Some(retry_in.as_secs().max(1));
        refusal
    }

    /// 400 `invalid_grant`: a refresh token that is invalid, expired, already used (its
    /// session is then revoked) or not the client's.
    pub(crate) fn invalid_refresh_token() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "Invalid refresh token",
        )
    }

    /// 400 `invalid_grant`: an authorization code that is unknown, expired, used, or not
    /// issued for this client, redirect URI and PKCE verifier.
    pub(crate) fn invalid_grant(description: &'static str) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_grant", description)
    }

    /// 400 `unauthorized_client`: the client may not use this grant.
    pub(crate) fn unauthorized_client(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "unauthorized_client", description)
    }

    /// 400 `unsupported_grant_type`.
    pub(crate) fn unsupported_grant_type() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "Unsupported grant_type",
        )
    }

    /// 500 `server_error`: we failed (e.g. signing), not the caller.
    pub(crate) fn server_error() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "The token could not be issued",
        )
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let body = OAuthErrorBody {
            error: self.error,
            error_description: &self.description,
        };
        let mut response = (self.status, Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some(seconds) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if self.error == "invalid_client" {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(r#"Basic realm="orderflow""#),
            );
        }
        response
    }
}
