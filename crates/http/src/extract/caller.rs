//! The authenticated caller of a request, as a [`RequestContext`].
//!
//! Guarantees: a [`Caller`] exists only for a request whose bearer token the
//! [`orderflow_auth::TokenValidator`] accepted and whose `sub` is a valid [`UserId`];
//! otherwise the request is answered 401 (or 503 when the identity provider is down), and
//! 400 when it carries more than one `Authorization` header (none is guessed at). The
//! context carries the request's correlation id and no idempotency key (handlers that honour
//! one add it).

use axum::extract::{FromRef, FromRequestParts};
use axum::http::StatusCode;
use axum::http::request::Parts;
use orderflow_app::{Actor, RequestContext};
use orderflow_auth::{AuthError, Principal, TokenValidator, single_authorization_header};
use orderflow_domain::UserId;
use uuid::Uuid;

use crate::correlation::CorrelationId;
use crate::problem::Problem;

/// Who is calling, and the ids of their request.
#[derive(Debug, Clone)]
pub struct Caller(pub RequestContext);

impl<S> FromRequestParts<S> for Caller
where
    S: Send + Sync,
    TokenValidator: FromRef<S>,
{
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        let validator = TokenValidator::from_ref(state);
        let authorization = single_authorization_header(&parts.headers).map_err(|repeated| {
            Problem::new(
                StatusCode::BAD_REQUEST,
                "repeated_authorization",
                "Bad request",
                repeated.to_string(),
            )
        })?;
        let authorization = match authorization {
            None => None,
            Some(value) => Some(
                value
                    .to_str()
                    .map_err(|_| AuthError::Malformed("non-ASCII authorization header"))?,
            ),
        };
        let principal = validator
            .validate_authorization_header(authorization)
            .await?;
        let actor = actor_of(&principal)?;
        let correlation_id = parts
            .extensions
            .get::<CorrelationId>()
            .map_or_else(Uuid::now_v7, |id| id.0);
        Ok(Caller(RequestContext {
            actor,
            correlation_id,
            idempotency_key: None,
        }))
    }
}

/// The actor a validated token speaks for; a `sub` that is not a user id is refused (401).
fn actor_of(principal: &Principal) -> Result<Actor, Problem> {
    let user_id = UserId::parse(&principal.user_id)
        .map_err(|_| Problem::from(AuthError::Malformed("the subject is not a valid user id")))?;
    Ok(Actor {
        user_id,
        is_admin: principal.is_admin(),
        is_buyer: principal.is_buyer(),
    })
}
