//! The dev issuer's HTTP endpoints, under `/realms/orderflow` like Keycloak's.
//!
//! Guarantees: bad input never gets a 5xx — a body that is not a form, too large (over
//! 16 KiB), with repeated or missing parameters, an unknown client or grant, or wrong
//! credentials each get the OAuth error Keycloak would send (see `oauth_error`).
//! Token answers carry `Cache-Control: no-store`; token and discovery answers carry
//! `Access-Control-Allow-Origin` for a request from the origin of an allowed redirect URI
//! (a console on another origin), and no other.

use axum::body::Body;
use std::net::IpAddr;

use axum::extract::State;
use axum::http::{Extensions, HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;

use super::directory::WEB_CLIENT_ID;
use super::oauth_error::OAuthError;
use super::token_request::{AuthenticatedClient, TokenRequestForm};
use super::{DevIssuer, TokenResponse};
use super::{authorize, login_page, logout};

/// The grants the token endpoint knows.
const SUPPORTED_GRANTS: [&str; 4] = [
    "authorization_code",
    "password",
    "client_credentials",
    "refresh_token",
];

/// The issuer's routes, with the issuer as state.
pub(crate) fn router(issuer: DevIssuer) -> Router {
    Router::new()
        .route(
            "/realms/orderflow/.well-known/openid-configuration",
            get(discovery_document),
        )
        .route("/realms/orderflow/protocol/openid-connect/certs", get(jwks))
        .route(
            "/realms/orderflow/protocol/openid-connect/token",
            post(token_endpoint),
        )
        .route(
            "/realms/orderflow/protocol/openid-connect/auth",
            get(authorize::show_login).post(authorize::submit_login),
        )
        .route(
            "/realms/orderflow/protocol/openid-connect/logout",
            get(logout::end_session),
        )
        .route(login_page::STYLESHEET_PATH, get(login_page::stylesheet))
        .with_state(issuer)
}

async fn discovery_document(State(issuer): State<DevIssuer>, headers: HeaderMap) -> Response {
    let base = issuer.issuer_url();
    let mut response = Json(json!({
        "issuer": base,
        "authorization_endpoint": format!("{base}/protocol/openid-connect/auth"),
        "token_endpoint": format!("{base}/protocol/openid-connect/token"),
        "end_session_endpoint": format!("{base}/protocol/openid-connect/logout"),
        "jwks_uri": format!("{base}/protocol/openid-connect/certs"),
        "grant_types_supported": SUPPORTED_GRANTS,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "code_challenge_methods_supported": ["S256"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "scopes_supported": ["openid", "profile", "email"],
        "claims_supported": [
            "iss", "sub", "aud", "azp", "exp", "iat", "jti", "typ",
            "preferred_username", "realm_access", "scope", "sid", "nonce", "auth_time"
        ],
    }))
    .into_response();
    // A console on an allowed origin reads the endpoints from here before it signs in.
    allow_web_origin(&issuer, headers.get(header::ORIGIN), &mut response);
    response
}

async fn jwks(State(issuer): State<DevIssuer>) -> Response {
    Json(json!({ "keys": [issuer.state.signing_key.public_jwk] })).into_response()
}

async fn token_endpoint(
    State(issuer): State<DevIssuer>,
    extensions: Extensions,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let client_address = issuer.client_address(&extensions, &headers);
    let origin = headers.get(header::ORIGIN).cloned();
    let mut response = match grant_tokens(&issuer, client_address, &headers, body).await {
        Ok(tokens) => {
            let mut response = Json(tokens).into_response();
            let response_headers = response.headers_mut();
            response_headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response_headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
            response
        }
        Err(refusal) => {
            tracing::debug!(?refusal, "token request refused");
            refusal.into_response()
        }
    };
    // A console on an allowed origin (a form post needs no preflight) may read the answer.
    allow_web_origin(&issuer, origin.as_ref(), &mut response);
    response
}

/// Lets a page from `origin` read `response` when it is the origin of an allowed redirect
/// URI (a console on another origin); varies on `Origin` either way.
fn allow_web_origin(issuer: &DevIssuer, origin: Option<&HeaderValue>, response: &mut Response) {
    response
        .headers_mut()
        .insert(header::VARY, HeaderValue::from_static("Origin"));
    if let Some(origin) = origin.filter(|origin| {
        origin
            .to_str()
            .is_ok_and(|origin| issuer.allows_web_origin(origin))
    }) {
        response
            .headers_mut()
            .insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
    }
}

async fn grant_tokens(
    issuer: &DevIssuer,
    client_address: Option<IpAddr>,
    headers: &HeaderMap,
    body: Body,
) -> Result<TokenResponse, OAuthError> {
    let form = TokenRequestForm::read(headers, body).await?;
    let grant_type = form.required("grant_type", "Missing form parameter: grant_type")?;
    if !SUPPORTED_GRANTS.contains(&grant_type) {
        return Err(OAuthError::unsupported_grant_type());
    }
    let client = AuthenticatedClient::from_request(issuer, headers, &form)?;
    let minted = match (grant_type, client) {
        ("password", AuthenticatedClient::Web) => {
            let username = form.required("username", "Missing parameter: username")?;
            let password = form.required("password", "Missing parameter: password")?;
            let user = issuer
                .password_login(username, password, client_address)
                .map_err(OAuthError::too_many_failed_logins)?
                .ok_or_else(OAuthError::invalid_user_credentials)?;
            issuer.mint_for_user(user, WEB_CLIENT_ID, None, None)
        }
        ("password", AuthenticatedClient::Service) => {
            return Err(OAuthError::unauthorized_client(
                "Client not allowed for direct access grants",
            ));
        }
        ("client_credentials", AuthenticatedClient::Service) => issuer.issue_for_service_client(),
        ("authorization_code", AuthenticatedClient::Web) => {
            let code = form.required("code", "Missing parameter: code")?;
            let redirect_uri = form.required("redirect_uri", "Missing parameter: redirect_uri")?;
            let verifier = form.required("code_verifier", "PKCE code verifier not specified")?;
            issuer.redeem_code(code, redirect_uri, verifier)?
        }
        ("authorization_code", AuthenticatedClient::Service) => {
            return Err(OAuthError::unauthorized_client(
                "Client not allowed to initiate browser login",
            ));
        }
        ("client_credentials", AuthenticatedClient::Web) => {
            return Err(OAuthError::unauthorized_client(
                "Public client not allowed to retrieve service account",
            ));
        }
        ("refresh_token", client) => {
            let refresh_token =
                form.required("refresh_token", "Missing parameter: refresh_token")?;
            issuer
                .refresh(refresh_token, client.client_id())
                .ok_or_else(OAuthError::invalid_refresh_token)?
        }
        _ => return Err(OAuthError::unsupported_grant_type()),
    };
    minted.map_err(|error| {
        tracing::error!(%error, "the dev issuer cannot sign a token");
        OAuthError::server_error()
    })
}
