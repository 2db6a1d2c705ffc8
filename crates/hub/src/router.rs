//! The hub's HTTP surface: `POST /hubs/push-updates/negotiate` and the WebSocket endpoint
//! `GET /hubs/push-updates`.
//!
//! Guarantees:
//! - nothing is negotiated or upgraded without a valid access token: from the
//!   `Authorization: Bearer` header, or — on the hub path only, because browsers cannot set
//!   headers on WebSockets — the `access_token` query parameter; a missing or invalid token
//!   is a 401 problem, an unreachable identity provider a 503;
//! - the query string (which may hold the token or a connection token) is never logged by
//!   this crate; [`crate::redact_access_token`] gives outer request logging a safe rendering;
//! - a WebSocket `id` is honoured only for the user who negotiated it; anything else is 404;
//!   without an `id` (clients that skip negotiation) a fresh connection is opened; an `id` of
//!   a resumable connection (stateful reconnect) of the same user, with a valid token, hands
//!   the new socket to that connection (no limit is checked again: it keeps its place);
//! - stateful reconnect is offered when negotiate is asked `useStatefulReconnect=true`;
//! - a user over their share of negotiations or connections is refused (429) without
//!   touching anyone else's; a full hub answers 503;
//! - every refusal, a wrong method included (405 with `Allow`), is `application/problem+json`.

use axum::Json;
use axum::Router;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{OnFailedUpgrade, WebSocketUpgrade};
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};
use orderflow_auth::{AuthError, Principal, bearer_token_from_header, single_authorization_header};

use crate::connection::{self, Opening};
use crate::negotiate::{self, NegotiationError};
use crate::registry::AdmissionRefused;
use crate::{HubError, PushHub};

/// The hub endpoint: the WebSocket transport connects here.
pub const HUB_PATH: &str = "/hubs/push-updates";

/// Where clients negotiate a connection first.
pub const NEGOTIATE_PATH: &str = "/hubs/push-updates/negotiate";

/// The WebSocket read and write buffer of each connection: hub messages are small, and
/// tungstenite's 128 KiB default would cost 10,000 idle connections over a GiB.
const SOCKET_BUFFER_BYTES: usize = 16 * 1024;

/// The query parameter browsers carry the access token in.
const ACCESS_TOKEN_PARAMETER: &str = "access_token";

/// The router serving [`NEGOTIATE_PATH`] and [`HUB_PATH`] for `hub`. It has no fallback, so
/// it merges with other routers freely.
pub fn hub_router(hub: PushHub) -> Router {
    Router::new()
        .route(NEGOTIATE_PATH, answering_only(post(negotiate), "POST"))
        .route(HUB_PATH, answering_only(get(connect), "GET"))
        .with_state(hub)
}

/// `route` with a problem+json 405 for every other method.
fn answering_only(route: MethodRouter<PushHub>, allowed: &'static str) -> MethodRouter<PushHub> {
    route.fallback(move || async move { HubError::MethodNotAllowed { allowed } })
}

async fn negotiate(
    State(hub): State<PushHub>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, HubError> {
    if hub.is_shutting_down() {
        return Err(HubError::ShuttingDown);
    }
    let token = header_token(&headers)?.ok_or(AuthError::Missing)?;
    let principal = authenticate(&hub, token).await?;
    let version = negotiate_version(query.as_deref())?;
    let wants_stateful_reconnect = query_flag(query.as_deref(), "useStatefulReconnect");
    let response = hub
        .inner
        .negotiations
        .negotiate(version, &principal.user_id, wants_stateful_reconnect)
        .map_err(|error| match error {
            NegotiationError::Full => HubError::TooManyNegotiations,
            NegotiationError::UserFull => {
                tracing::debug!(user_id = %principal.user_id, "negotiate refused: the user's share is used up");
                HubError::TooManyNegotiationsForUser
            }
            NegotiationError::UnknownConnection => HubError::UnknownConnection,
        })?;
    tracing::debug!(
        user_id = %principal.user_id,
        negotiate_version = version.min(negotiate::MAX_NEGOTIATE_VERSION),
        "hub connection negotiated"
    );
    Ok(Json(response).into_response())
}

async fn connect(
    State(hub): State<PushHub>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, HubError> {
    if hub.is_shutting_down() {
        return Err(HubError::ShuttingDown);
    }
    let parameters = ConnectParameters::parse(query.as_deref());
    if parameters.repeated_access_token {
        return Err(HubError::RepeatedAccessToken);
    }
    let token = match header_token(&headers)? {
        Some(token) => token,
        None => parameters
            .access_token
            .as_deref()
            .ok_or(AuthError::Missing)?,
    };
    let principal = authenticate(&hub, token).await?;
    let upgrade = upgrade.map_err(|_| HubError::NotAWebSocket)?;
    let upgrade = bounded(upgrade, hub.inner.config.max_frame_bytes());
    // A stateful connection resumed by its user keeps its place: no admission again.
    if let Some(ticket) = parameters
        .id
        .as_deref()
        .and_then(|id| hub.inner.resumptions.claim(id, &principal.user_id))
    {
        tracing::debug!(user_id = %principal.user_id, "resuming a hub connection");
        return Ok(
            upgrade.on_upgrade(move |socket| async move { ticket.resume(socket, principal) })
        );
    }
    hub.inner
        .registry
        .admits(&principal.user_id)
        .map_err(refusal)?;
    let opening = match parameters.id {
        Some(id) => {
            let taken = hub
                .inner
                .negotiations
                .take(&id, &principal.user_id)
                .map_err(|_| HubError::UnknownConnection)?;
            Opening {
                connection_id: taken.connection_id,
                stateful_reconnect_token: taken.stateful_reconnect.then_some(id),
            }
        }
        None => Opening {
            connection_id: negotiate::new_id(),
            stateful_reconnect_token: None,
        },
    };
    let state = hub.inner.clone();
    Ok(upgrade.on_upgrade(move |socket| connection::run(socket, state, principal, opening)))
}

/// The upgrade with the hub's socket buffers and frame limits.
fn bounded(
    upgrade: WebSocketUpgrade,
    frame_limit: usize,
) -> WebSocketUpgrade<impl OnFailedUpgrade> {
    upgrade
        .read_buffer_size(SOCKET_BUFFER_BYTES)
        .write_buffer_size(SOCKET_BUFFER_BYTES)
        .max_message_size(frame_limit)
        .max_frame_size(frame_limit)
        .on_failed_upgrade(|error| tracing::debug!(%error, "websocket upgrade failed"))
}

/// The answer to a connection the registry would not admit.
fn refusal(refused: AdmissionRefused) -> HubError {
    match refused {
        AdmissionRefused::ShuttingDown => HubError::ShuttingDown,
        AdmissionRefused::UserFull => HubError::TooManyConnectionsForUser,
        AdmissionRefused::HubFull => HubError::TooManyConnections,
    }
}

/// The bearer token of the `Authorization` header; `None` without the header.
fn header_token(headers: &HeaderMap) -> Result<Option<&str>, HubError> {
    let Some(value) = single_authorization_header(headers)? else {
        return Ok(None);
    };
    let value = value
        .to_str()
        .map_err(|_| AuthError::Malformed("the authorization header is not visible ascii"))?;
    Ok(bearer_token_from_header(value).map(Some)?)
}

async fn authenticate(hub: &PushHub, token: &str) -> Result<Principal, HubError> {
    hub.inner.validator.validate(token).await.map_err(|error| {
        if error.is_caller_fault() {
            tracing::debug!(reason = error.reason(), "hub request refused: access token");
        } else {
            tracing::warn!(%error, "hub request refused: the identity provider is unavailable");
        }
        HubError::Unauthenticated(error)
    })
}

/// `negotiateVersion` from the query; absent means 0.
fn negotiate_version(query: Option<&str>) -> Result<u32, HubError> {
    let requested = query.and_then(|query| {
        form_urlencoded::parse(query.as_bytes())
            .find(|(name, _)| name == "negotiateVersion")
            .map(|(_, value)| value.into_owned())
    });
    match requested {
        None => Ok(0),
        Some(value) => value
            .trim()
            .parse::<u32>()
            .map_err(|_| HubError::InvalidNegotiateVersion),
    }
}

/// Whether the query sets `name=true` (the first occurrence counts).
fn query_flag(query: Option<&str>, name: &str) -> bool {
    query.is_some_and(|query| {
        form_urlencoded::parse(query.as_bytes())
            .find(|(key, _)| key == name)
            .is_some_and(|(_, value)| value.eq_ignore_ascii_case("true"))
    })
}

/// The query parameters of a WebSocket connect; the first `id` counts, a repeated
/// `access_token` is noted (and refused: which one is meant is not guessed).
#[derive(Default)]
struct ConnectParameters {
    id: Option<String>,
    access_token: Option<String>,
    repeated_access_token: bool,
}

// Hand-written so a token can never reach a log through `{:?}`.
impl std::fmt::Debug for ConnectParameters {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("ConnectParameters")
            .field("id", &self.id.as_ref().map(|_| "<redacted>"))
            .field(
                "access_token",
                &self.access_token.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

impl ConnectParameters {
    fn parse(query: Option<&str>) -> Self {
        let mut parameters = Self::default();
        let Some(query) = query else {
            return parameters;
        };
        for (name, value) in form_urlencoded::parse(query.as_bytes()) {
            match name.as_ref() {
                "id" if parameters.id.is_none() => parameters.id = Some(value.into_owned()),
                ACCESS_TOKEN_PARAMETER if parameters.access_token.is_none() => {
                    parameters.access_token = Some(value.into_owned());
                }
                ACCESS_TOKEN_PARAMETER => parameters.repeated_access_token = true,
                _ => {}
            }
        }
        parameters
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_negotiate_version_defaults_to_zero_and_must_be_a_number() {
        assert_eq!(negotiate_version(None).unwrap(), 0);
        assert_eq!(negotiate_version(Some("negotiateVersion=1")).unwrap(), 1);
        assert_eq!(negotiate_version(Some("a=b")).unwrap(), 0);
        assert!(negotiate_version(Some("negotiateVersion=-1")).is_err());
    }

    #[test]
    fn connect_parameters_take_the_first_occurrence_and_decode() {
        let parameters = ConnectParameters::parse(Some("id=a%2Bb&id=zzz&access_token=t%20k"));
        assert_eq!(parameters.id.as_deref(), Some("a+b"));
        assert_eq!(parameters.access_token.as_deref(), Some("t k"));
        assert!(!format!("{parameters:?}").contains("t k"));
        assert!(!parameters.repeated_access_token);
    }

    #[test]
    fn a_repeated_access_token_is_noted_whichever_comes_first() {
        for query in [
            "access_token=a&access_token=b",
            "access_token=b&id=x&access_token=a",
        ] {
            assert!(
                ConnectParameters::parse(Some(query)).repeated_access_token,
                "{query}"
            );
        }
    }
}
