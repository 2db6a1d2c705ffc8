//! The authorization endpoint (`…/protocol/openid-connect/auth`): the OpenID Connect
//! authorization-code flow with PKCE for the public client `orderflow-web`, as Keycloak runs
//! it — a login page, then a redirect back with a code.
//!
//! Guarantees:
//! * **Never an open redirect.** The client and its redirect URI are checked first; an
//!   unknown client, a missing or foreign `redirect_uri` (allowed: `{base}/`,
//!   `{base}/callback` and [`DevIssuer::with_redirect_uris`], compared exactly) or a
//!   repeated parameter get an error page. Only a request with a trusted redirect URI gets
//!   its other errors (`unsupported_response_type`, missing or non-S256 PKCE) as a redirect,
//!   and a successful login a `302` to `redirect_uri?code=…&state=…&session_state=…&iss=…`.
//! * **PKCE S256 is required**; `plain` and no challenge are refused.
//! * The login form (`username`, `password`, submit `kc-login`) POSTs back here with the
//!   request in hidden fields, which are checked again. A POST from another origin is
//!   refused (login CSRF). Wrong credentials show the page again with a message and
//!   redirect nowhere; the brute-force guard counts them like password-grant failures.
//! * Codes: see `codes` (single use, 60 s, bound to client, redirect URI and verifier).

use axum::body::Body;
use axum::extract::State;
use axum::http::{Extensions, HeaderMap, StatusCode, Uri, header};
use axum::response::Response;

use super::codes::{CodeGrant, CodeRefusal, Redemption, is_pkce_value};
use super::directory::WEB_CLIENT_ID;
use super::login_page::{LoginView, error_page, login_page, redirect};
use super::oauth_error::OAuthError;
use super::token_request::TokenRequestForm;
use super::{DevIssuer, DevIssuerError, REALM_PATH, TokenResponse};
use crate::origin_of;

/// The longest `state`, `nonce` or `scope` accepted.
const MAX_PARAMETER_CHARS: usize = 1024;

/// A checked authorization request.
#[derive(Debug, Clone)]
pub(crate) struct AuthorizationRequest {
    pub(crate) redirect_uri: String,
    pub(crate) scope: String,
    pub(crate) state: Option<String>,
    pub(crate) nonce: Option<String>,
    pub(crate) code_challenge: String,
}

/// Why an authorization request is refused.
#[derive(Debug)]
enum Refusal {
    /// No redirect URI to trust: say so on a page.
    Page(String),
    /// The redirect URI is trusted: send the error back to it (RFC 6749 §4.1.2.1).
    Redirect {
        redirect_uri: String,
        state: Option<String>,
        error: &'static str,
        description: &'static str,
    },
}

impl Refusal {
    fn into_response(self, issuer: &DevIssuer) -> Response {
        match self {
            Self::Page(message) => error_page(StatusCode::BAD_REQUEST, &message),
            Self::Redirect {
                redirect_uri,
                state,
                error,
                description,
            } => {
                let mut query = vec![("error", error), ("error_description", description)];
                if let Some(state) = &state {
                    query.push(("state", state));
                }
                query.push(("iss", issuer.issuer_url()));
                redirect(&redirect_uri, &query)
            }
        }
    }
}

impl DevIssuer {
    /// The public base URL the issuer lives under (its URL without `/realms/orderflow`).
    pub(crate) fn base_url(&self) -> &str {
        let issuer = self.issuer_url();
        issuer.strip_suffix(REALM_PATH).unwrap_or(issuer)
    }

    /// Whether `orderflow-web` may be sent back to `uri` (after login or logout).
    pub(crate) fn allows_redirect_uri(&self, uri: &str) -> bool {
        let base = self.base_url();
        uri.strip_prefix(base)
            .is_some_and(|path| path == "/" || path == "/callback")
            || self
                .state
                .extra_redirect_uris
                .iter()
                .any(|allowed| allowed == uri)
    }

    /// Whether a page of `origin` may read the token endpoint's answers (CORS, Keycloak's
    /// "web origins"): the origins of the allowed redirect URIs.
    pub(crate) fn allows_web_origin(&self, origin: &str) -> bool {
        origin == origin_of(self.base_url())
            || self
                .state
                .extra_redirect_uris
                .iter()
                .any(|uri| origin_of(uri) == origin)
    }

    /// Tokens for a code, its client, redirect URI and PKCE verifier.
    pub(crate) fn redeem_code(
        &self,
        code: &str,
        redirect_uri: &str,
        code_verifier: &str,
    ) -> Result<Result<TokenResponse, DevIssuerError>, OAuthError> {
        let redeemed = self.state.codes.redeem(&Redemption {
            code,
            client_id: WEB_CLIENT_ID,
            redirect_uri,
            code_verifier,
        });
        let grant = redeemed.map_err(|refusal| {
            if let CodeRefusal::Reused { session } = refusal {
                tracing::warn!(%session, "an authorization code was presented again: session revoked");
                self.state
                    .guard
                    .revoke_session(session, self.state.lifetimes.refresh);
            }
            tracing::debug!(%refusal, "authorization code refused");
            OAuthError::invalid_grant("Code not valid")
        })?;
        let user = self
            .state
            .users
            .iter()
            .find(|user| user.id() == grant.user_id)
            .ok_or_else(|| OAuthError::invalid_grant("User not found"))?;
        Ok(self.mint_for_user(
            user,
            WEB_CLIENT_ID,
            Some(grant.session),
            grant.nonce.as_deref(),
        ))
    }
}

/// `GET …/auth`: the login page for a valid request.
pub(crate) async fn show_login(State(issuer): State<DevIssuer>, uri: Uri) -> Response {
    let form = match TokenRequestForm::parse(uri.query().unwrap_or_default().as_bytes()) {
        Ok(form) => form,
        Err(_) => return error_page(StatusCode::BAD_REQUEST, "A parameter appears twice."),
    };
    match checked_request(&issuer, &form) {
        Ok(request) => login_page(&issuer, &LoginView::fresh(&request), StatusCode::OK),
        Err(refusal) => refusal.into_response(&issuer),
    }
}

/// `POST …/auth`: the login form; a redirect with a code, or the page again.
pub(crate) async fn submit_login(
    State(issuer): State<DevIssuer>,
    extensions: Extensions,
    headers: HeaderMap,
    body: Body,
) -> Response {
    if !same_origin(&issuer, &headers) {
        return error_page(
            StatusCode::FORBIDDEN,
            "This login form was sent from another site.",
        );
    }
    let form = match TokenRequestForm::read(&headers, body).await {
        Ok(form) => form,
        Err(_) => return error_page(StatusCode::BAD_REQUEST, "The login form was not readable."),
    };
    let request = match checked_request(&issuer, &form) {
        Ok(request) => request,
        Err(refusal) => return refusal.into_response(&issuer),
    };
    let username = form.get("username").unwrap_or_default();
    let password = form.get("password").unwrap_or_default();
    let address = issuer.client_address(&extensions, &headers);
    let again = |status, error| {
        let view = LoginView {
            request: &request,
            username,
            error: Some(error),
        };
        login_page(&issuer, &view, status)
    };
    let user = match issuer.password_login(username, password, address) {
        Err(_) => {
            return again(
                StatusCode::TOO_MANY_REQUESTS,
                "Too many failed logins. Wait a minute, then try again.",
            );
        }
        Ok(None) => return again(StatusCode::OK, "Invalid username or password."),
        Ok(Some(user)) => user,
    };
    let session = uuid::Uuid::new_v4();
    let code = issuer.state.codes.issue(CodeGrant {
        client_id: WEB_CLIENT_ID.to_owned(),
        redirect_uri: request.redirect_uri.clone(),
        code_challenge: request.code_challenge.clone(),
        user_id: user.id(),
        nonce: request.nonce.clone(),
        session,
    });
    let session = session.to_string();
    let mut query = Vec::with_capacity(4);
    if let Some(state) = &request.state {
        query.push(("state", state.as_str()));
    }
    query.extend([
        ("session_state", session.as_str()),
        ("iss", issuer.issuer_url()),
        ("code", code.as_str()),
    ]);
    redirect(&request.redirect_uri, &query)
}

/// A POST without `Origin` (old clients, tests) is accepted; with one, it must be ours.
fn same_origin(issuer: &DevIssuer, headers: &HeaderMap) -> bool {
    headers
        .get(header::ORIGIN)
        .is_none_or(|origin| origin.as_bytes() == origin_of(issuer.base_url()).as_bytes())
}

fn checked_request(
    issuer: &DevIssuer,
    form: &TokenRequestForm,
) -> Result<AuthorizationRequest, Refusal> {
    match form.get("client_id") {
        Some(WEB_CLIENT_ID) => {}
        Some(_) => return Err(Refusal::Page("Client not found.".into())),
        None => return Err(Refusal::Page("Missing parameter: client_id".into())),
    }
    let redirect_uri = match form.get("redirect_uri") {
        Some(uri) if issuer.allows_redirect_uri(uri) => uri.to_owned(),
        Some(_) => return Err(Refusal::Page("Invalid parameter: redirect_uri".into())),
        None => return Err(Refusal::Page("Missing parameter: redirect_uri".into())),
    };
    let bounded = |name| {
        form.get(name)
            .filter(|value| value.chars().count() <= MAX_PARAMETER_CHARS)
            .map(str::to_owned)
    };
    let state = bounded("state");
    let refuse = |error, description| Refusal::Redirect {
        redirect_uri: redirect_uri.clone(),
        state: state.clone(),
        error,
        description,
    };
    if form.get("response_type") != Some("code") {
        return Err(refuse(
            "unsupported_response_type",
            "Client is not allowed to initiate browser login with given response_type. Only the code flow is supported.",
        ));
    }
    let code_challenge = form
        .get("code_challenge")
        .ok_or_else(|| refuse("invalid_request", "Missing parameter: code_challenge"))?;
    if form.get("code_challenge_method") != Some("S256") || !is_pkce_value(code_challenge) {
        return Err(refuse(
            "invalid_request",
            "Invalid parameter: code_challenge_method",
        ));
    }
    for name in ["state", "nonce", "scope"] {
        if form.get(name).is_some() && bounded(name).is_none() {
            return Err(refuse("invalid_request", "A parameter is too long"));
        }
    }
    Ok(AuthorizationRequest {
        scope: bounded("scope").unwrap_or_else(|| "openid".to_owned()),
        nonce: bounded("nonce"),
        code_challenge: code_challenge.to_owned(),
        redirect_uri,
        state,
    })
}
