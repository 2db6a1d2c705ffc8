//! End-session (`GET …/protocol/openid-connect/logout`), as Keycloak's RP-initiated logout.
//!
//! Guarantees: an `id_token_hint` must be an ID token this issuer minted for
//! `orderflow-web` (expired is fine); its session is revoked, so the session's refresh tokens
//! stop working (access tokens live on until they expire: services check them offline).
//! A `post_logout_redirect_uri` needs an `id_token_hint` or `client_id=orderflow-web` and is
//! held to the same list as redirect URIs; a foreign one gets an error page, never a
//! redirect. Without one, a "logged out" page. (The dev issuer keeps no browser session: the
//! login page always asks for the password, so there is no cookie to clear.)

use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::Response;

use super::directory::WEB_CLIENT_ID;
use super::login_page::{error_page, logged_out_page, redirect};
use super::token_request::TokenRequestForm;
use super::{DevIssuer, tokens};

/// `GET …/logout`.
pub(crate) async fn end_session(State(issuer): State<DevIssuer>, uri: Uri) -> Response {
    let Ok(form) = TokenRequestForm::parse(uri.query().unwrap_or_default().as_bytes()) else {
        return error_page(StatusCode::BAD_REQUEST, "A parameter appears twice.");
    };
    let session = match form.get("id_token_hint") {
        None => None,
        Some(hint) => match tokens::id_token_session(
            &issuer.state.signing_key,
            issuer.issuer_url(),
            WEB_CLIENT_ID,
            hint,
        ) {
            Some(session) => Some(session),
            None => {
                return error_page(StatusCode::BAD_REQUEST, "Invalid parameter: id_token_hint");
            }
        },
    };
    if form
        .get("client_id")
        .is_some_and(|client| client != WEB_CLIENT_ID)
    {
        return error_page(StatusCode::BAD_REQUEST, "Client not found.");
    }
    let target = form.get("post_logout_redirect_uri");
    if let Some(target) = target {
        if session.is_none() && form.get("client_id").is_none() {
            return error_page(StatusCode::BAD_REQUEST, "Missing parameters: id_token_hint");
        }
        if !issuer.allows_redirect_uri(target) {
            return error_page(StatusCode::BAD_REQUEST, "Invalid redirect uri");
        }
    }
    if let Some(session) = session {
        issuer
            .state
            .guard
            .revoke_session(session, issuer.state.lifetimes.refresh);
        tracing::debug!(%session, "logged out");
    }
    match target {
        Some(target) => {
            let state: Vec<(&str, &str)> = form
                .get("state")
                .map(|s| ("state", s))
                .into_iter()
                .collect();
            redirect(target, &state)
        }
        None => logged_out_page(),
    }
}
