//! Why negotiate or connect is refused, and the problem+json answer (RFC 9457) for each.
//!
//! Guarantees: every refusal is `application/problem+json` with `type`, `title`, `status`,
//! `detail` and a stable `code`, in the shape the orders API uses; a 401 carries
//! `WWW-Authenticate: Bearer`; no answer ever contains the token or a connection token, and
//! an identity-provider failure is described generically (its cause goes to the logs).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use orderflow_auth::{AuthError, RepeatedAuthorization};
use serde::Serialize;

const PROBLEM_JSON: &str = "application/problem+json";
const TYPE_PREFIX: &str = "urn:orderflow:problem:";

/// A negotiate or connect request the hub refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HubError {
    /// No valid access token (401), or the identity provider is unavailable (503).
    #[error(transparent)]
    Unauthenticated(#[from] AuthError),
    /// The `id` names no negotiated connection of this user (unknown, expired, used).
    /// More than one `Authorization` header.
    #[error(transparent)]
    RepeatedAuthorization(#[from] RepeatedAuthorization),
    /// More than one `access_token` query parameter.
    #[error("the query carries access_token more than once; send exactly one")]
    RepeatedAccessToken,
    #[error("no such connection: negotiate again")]
    UnknownConnection,
    /// The request to the hub path is not a WebSocket upgrade.
    #[error("only the WebSockets transport is offered: send a WebSocket upgrade")]
    NotAWebSocket,
    /// `negotiateVersion` is not a non-negative integer.
    #[error("negotiateVersion must be a non-negative integer")]
    InvalidNegotiateVersion,
    /// Too many negotiated connections are waiting for their WebSocket.
    #[error("too many connections are being negotiated; retry shortly")]
    TooManyNegotiations,
    /// This user has too many negotiated connections waiting for their WebSocket.
    #[error("too many connections are being negotiated for this user; retry shortly")]
    TooManyNegotiationsForUser,
    /// This user has as many live connections as allowed.
    #[error("too many connections for this user; close another first")]
    TooManyConnectionsForUser,
    /// This hub has as many live connections as allowed.
    #[error("this hub has too many connections; retry shortly")]
    TooManyConnections,
    /// The hub path or negotiate was asked with a method it does not answer.
    #[error("this path answers {allowed} only")]
    MethodNotAllowed {
        /// The value of the `Allow` header.
        allowed: &'static str,
    },
    /// The hub is shutting down.
    #[error("the hub is shutting down; retry shortly")]
    ShuttingDown,
}

impl HubError {
    /// The HTTP status of the answer.
    pub fn status_code(&self) -> StatusCode {
        match self {
            Self::Unauthenticated(error) => error.status_code(),
            Self::UnknownConnection => StatusCode::NOT_FOUND,
            Self::NotAWebSocket
            | Self::InvalidNegotiateVersion
            | Self::RepeatedAuthorization(_)
            | Self::RepeatedAccessToken => StatusCode::BAD_REQUEST,
            Self::TooManyNegotiationsForUser | Self::TooManyConnectionsForUser => {
                StatusCode::TOO_MANY_REQUESTS
            }
            Self::TooManyNegotiations | Self::TooManyConnections | Self::ShuttingDown => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
        }
    }

    /// A short, stable, lowercase code for the problem body and logs.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unauthenticated(error) if error.is_caller_fault() => "unauthenticated",
            Self::Unauthenticated(_) => "identity_provider_unavailable",
            Self::RepeatedAuthorization(_) => "repeated_authorization",
            Self::RepeatedAccessToken => "repeated_access_token",
            Self::UnknownConnection => "unknown_connection",
            Self::NotAWebSocket => "websocket_required",
            Self::InvalidNegotiateVersion => "invalid_negotiate_version",
            Self::TooManyNegotiations => "too_many_negotiations",
            Self::TooManyNegotiationsForUser => "too_many_negotiations_for_user",
            Self::TooManyConnectionsForUser => "too_many_connections_for_user",
            Self::TooManyConnections => "too_many_connections",
            Self::MethodNotAllowed { .. } => "method_not_allowed",
            Self::ShuttingDown => "shutting_down",
        }
    }
}

#[derive(Serialize)]
struct ProblemBody<'a> {
    #[serde(rename = "type")]
    type_uri: String,
    title: &'a str,
    status: u16,
    detail: String,
    code: &'a str,
}

impl HubError {
    /// The `detail` shown to the client: the provider's own failure stays in the logs.
    fn public_detail(&self) -> String {
        match self {
            Self::Unauthenticated(error) if !error.is_caller_fault() => {
                "the identity provider is unavailable; retry shortly".to_owned()
            }
            other => other.to_string(),
        }
    }
}

impl IntoResponse for HubError {
    fn into_response(self) -> Response {
        let status = self.status_code();
        let allowed = match &self {
            Self::MethodNotAllowed { allowed } => Some(*allowed),
            _ => None,
        };
        let body = ProblemBody {
            type_uri: format!("{TYPE_PREFIX}{}", self.code()),
            title: status.canonical_reason().unwrap_or("Error"),
            status: status.as_u16(),
            detail: self.public_detail(),
            code: self.code(),
        };
        let body = serde_json::to_vec(&body).unwrap_or_default();
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"orderflow\""),
            );
        }
        if let Some(allowed) = allowed {
            headers.insert(header::ALLOW, HeaderValue::from_static(allowed));
        }
        if status == StatusCode::SERVICE_UNAVAILABLE || status == StatusCode::TOO_MANY_REQUESTS {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(1));
        }
        response
    }
}
