//! How the errors of the layers below become problems, in one place.
//!
//! | error | status |
//! | --- | --- |
//! | `AppError::Validation` | 422 with the field list |
//! | `AppError::Forbidden` | 403 |
//! | `AppError::NotFound` | 404 |
//! | `AppError::Conflict` | 409 with the domain's code |
//! | `AppError::IdempotencyKeyReused` | 422 |
//! | `AppError::Unavailable` | 503 + `Retry-After: 1` |
//! | `AppError::Internal` | 500, generic detail |
//! | `AppError::BadQuery` | 400 |
//! | `AppError::SearchNotConfigured` | 503 `search_unavailable` |
//! | `AppError::RebuildNotOffered` | 404 |
//! | `AuthError`, caller's fault | 401 + `WWW-Authenticate: Bearer …` |
//! | `AuthError`, provider's fault | 503 + `Retry-After` |
//!
//! Guarantees: server-side causes are logged here (503 at WARN, 500 at ERROR) and never reach
//! the client; a client's mistake (every 4xx) is not logged here at all, and nowhere at ERROR.

use axum::http::{HeaderValue, StatusCode, header};
use orderflow_app::AppError;
use orderflow_auth::AuthError;

use crate::problem::Problem;

/// Seconds a client waits before retrying after a dependency failed.
const RETRY_AFTER_UNAVAILABLE: u32 = 1;
/// Seconds before retrying when the identity provider is down (the validator re-tries
/// discovery at most every two seconds).
const RETRY_AFTER_PROVIDER: u32 = 2;

impl From<AppError> for Problem {
    fn from(error: AppError) -> Self {
        match error {
            AppError::Validation(errors) => Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
                "Invalid request",
                "one or more fields are invalid; see errors",
            )
            .with_errors(errors.into_errors()),
            AppError::Forbidden(reason) => {
                Problem::new(StatusCode::FORBIDDEN, "forbidden", "Forbidden", reason)
            }
            AppError::NotFound => Problem::not_found("no such order"),
            AppError::Conflict { code, message } => {
                Problem::new(StatusCode::CONFLICT, code, "Conflict", message)
            }
            error @ AppError::IdempotencyKeyReused => Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency_key_reused",
                "Idempotency key reused",
                error.to_string(),
            ),
            AppError::BadQuery(detail) => Problem::bad_query(detail),
            error @ AppError::SearchNotConfigured => Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "search_unavailable",
                "Search unavailable",
                error.to_string(),
            ),
            error @ AppError::RebuildNotOffered => Problem::not_found(error.to_string()),
            AppError::Unavailable(cause) => {
                tracing::warn!(%cause, "dependency unavailable");
                Problem::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "Service unavailable",
                    "a dependency is unavailable; retry shortly",
                )
                .retry_after(RETRY_AFTER_UNAVAILABLE)
            }
            AppError::Internal(cause) => {
                tracing::error!(%cause, "internal error");
                Problem::internal()
            }
        }
    }
}

impl From<AuthError> for Problem {
    fn from(error: AuthError) -> Self {
        if !error.is_caller_fault() {
            tracing::warn!(reason = error.reason(), %error, "identity provider unavailable");
            return Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "identity_provider_unavailable",
                "Service unavailable",
                "the identity provider cannot be reached to check the token; retry shortly",
            )
            .retry_after(RETRY_AFTER_PROVIDER);
        }
        let (code, challenge) = match error {
            // RFC 6750 §3.1: a request without credentials gets a challenge without an
            // error code.
            AuthError::Missing => ("missing_token", r#"Bearer realm="orderflow""#.to_owned()),
            ref error => (
                "invalid_token",
                format!(
                    r#"Bearer realm="orderflow", error="invalid_token", error_description="{}""#,
                    error.reason()
                ),
            ),
        };
        let challenge = HeaderValue::from_str(&challenge)
            .unwrap_or_else(|_| HeaderValue::from_static(r#"Bearer error="invalid_token""#));
        Problem::new(
            StatusCode::UNAUTHORIZED,
            code,
            "Unauthorized",
            error.to_string(),
        )
        .with_header(header::WWW_AUTHENTICATE, challenge)
    }
}

#[cfg(test)]
mod tests {
    use orderflow_domain::{FieldError, ValidationErrors};

    use super::*;

    #[test]
    fn each_app_error_has_its_status() {
        let cases = [
            (
                AppError::Validation(ValidationErrors::single(FieldError::new("a", "b", "c"))),
                422,
            ),
            (AppError::Forbidden("no"), 403),
            (AppError::NotFound, 404),
            (
                AppError::Conflict {
                    code: "already_confirmed",
                    message: "x".into(),
                },
                409,
            ),
            (AppError::IdempotencyKeyReused, 422),
            (AppError::Unavailable("db".into()), 503),
            (AppError::Internal("secret".into()), 500),
        ];
        for (error, status) in cases {
            assert_eq!(Problem::from(error).status().as_u16(), status);
        }
    }

    #[test]
    fn internal_details_never_reach_the_client() {
        let problem = Problem::from(AppError::Internal("disk /var/db is corrupt".into()));
        assert!(!problem.detail().contains("corrupt"));
        let problem = Problem::from(AppError::Unavailable("password=hunter2".into()));
        assert!(!problem.detail().contains("hunter2"));
    }

    #[test]
    fn a_provider_outage_is_a_503_not_a_401() {
        let problem = Problem::from(AuthError::ProviderUnavailable("refused".into()));
        assert_eq!(problem.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            Problem::from(AuthError::Expired).status(),
            StatusCode::UNAUTHORIZED
        );
    }
}
