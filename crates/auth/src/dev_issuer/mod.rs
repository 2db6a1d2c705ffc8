//! The built-in dev identity provider: Keycloak-shaped endpoints, demo users, real RS256.
//!
//! `orderflow up` runs it so nothing external is needed to try orderflow. It is a real
//! OIDC provider as far as services can tell: they find it by discovery and verify its
//! tokens against its JWKS over HTTP, exactly as they would Keycloak's — there is no
//! in-process shortcut.
//!
//! - Realm `orderflow`; paths, claims and token/error JSON as Keycloak's (see
//!   [`DevIssuer::router`]).
//! - Users: `alice`/`alice`, `bob`/`bob` (role `buyer`), `admin`/`admin` (role `admin`), ids
//!   UUID v5 of the username; or a JSON users file
//!   `[{ "username", "password", "id"?, "roles": [..] }]`.
//! - Clients: public `orderflow-web` (authorization code with PKCE at a Keycloak-shaped login
//!   page, password and refresh_token grants; see `authorize`) and confidential
//!   `orderflow-service` (client_credentials; secret [`DEFAULT_SERVICE_CLIENT_SECRET`] unless
//!   configured; sub = the stable id of `service-account-orderflow-service`; roles
//!   `["service"]` unless configured).
//! - Access tokens live [`DevIssuer::DEFAULT_TOKEN_LIFETIME`] (3600 s, longer than
//!   Keycloak's 300 s default, for comfortable manual testing); refresh tokens twice that.
//! - The RSA key is made on first start (2048 bits, on the blocking pool) and kept in
//!   `{data_dir}/dev-issuer/signing-key.pem` (PKCS#8, mode 0600); its `kid` is the RFC 7638
//!   thumbprint, so it is stable across restarts.
//!
//! The issuer URL is an input, because only the caller knows the public address: bind the
//! listener first (port 0 is fine), then pass
//! `DevIssuer::issuer_url_for_base(&format!("http://{addr}"))`, or re-point an existing
//! issuer with [`DevIssuer::with_issuer_url`].

mod authorize;
mod client_address;
mod codes;
mod directory;
mod error;
mod guard;
mod login_page;
mod logout;
mod oauth_error;
mod routes;
mod signing_key;
mod token_request;
mod tokens;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

pub use client_address::{TrustedProxies, TrustedProxyError};
pub use directory::{
    DEFAULT_SERVICE_CLIENT_SECRET, DEV_USER_ID_NAMESPACE, DevUser, SERVICE_CLIENT_ID,
    WEB_CLIENT_ID, stable_user_id,
};
pub use error::DevIssuerError;
pub use guard::LoginLimits;
pub use tokens::{DEV_AUDIENCE, TokenResponse};

use directory::ServiceClient;
use guard::{RefreshRefusal, TokenGuard};
use signing_key::SigningKey;
use tokens::{Grant, Lifetimes};

/// The realm every path and the issuer URL live under.
pub const REALM_PATH: &str = "/realms/orderflow";

/// The dev identity provider. Cheap to clone.
#[derive(Debug, Clone)]
pub struct DevIssuer {
    state: Arc<DevIssuerState>,
}

#[derive(Debug, Clone)]
struct DevIssuerState {
    /// `{public base URL}/realms/orderflow`, exactly as tokens carry it in `iss`.
    issuer_url: String,
    signing_key: Arc<SigningKey>,
    users: Arc<[DevUser]>,
    service_client: ServiceClient,
    lifetimes: Lifetimes,
    /// Failed logins and used refresh tokens, shared by every clone.
    guard: Arc<TokenGuard>,
    /// Authorization codes waiting for their redemption, shared by every clone.
    codes: Arc<codes::CodeStore>,
    /// Redirect URIs `orderflow-web` may use beside `{base}/` and `{base}/callback`.
    extra_redirect_uris: Arc<[String]>,
    /// Proxies whose `X-Forwarded-For` names the client, for the per-address login limit.
    trusted_proxies: TrustedProxies,
}

impl DevIssuer {
    /// How long access tokens live unless configured otherwise.
    pub const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(3600);
    /// The longest access-token lifetime accepted (longer values are clamped).
    pub const MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 3600);

    /// Loads the signing key from `{data_dir}/dev-issuer/signing-key.pem`, creating it on
    /// first start (a 2048-bit RSA key; generation runs on the blocking pool), and the users
    /// from `users_file` or the demo users.
    pub async fn load_or_create(
        data_dir: &Path,
        issuer_url: String,
        users_file: Option<&Path>,
    ) -> Result<Self, DevIssuerError> {
        let issuer_url = normalized_issuer_url(issuer_url)?;
        let data_dir = data_dir.to_path_buf();
        let users_file = users_file.map(Path::to_path_buf);
        let (signing_key, users) = tokio::task::spawn_blocking(move || {
            let signing_key = signing_key::load_or_create_signing_key(&data_dir)?;
            let users = match users_file {
                Some(path) => directory::users_from_file(&path)?,
                None => directory::default_users(),
            };
            Ok::<_, DevIssuerError>((signing_key, users))
        })
        .await
        .map_err(|error| DevIssuerError::KeyGeneration(format!("background task: {error}")))??;
        tracing::info!(issuer = %issuer_url, kid = %signing_key.key_id, "dev issuer ready");
        Ok(Self {
            state: Arc::new(DevIssuerState {
                issuer_url,
                signing_key: Arc::new(signing_key),
                users: users.into(),
                service_client: ServiceClient::default(),
                lifetimes: lifetimes_for(Self::DEFAULT_TOKEN_LIFETIME),
                guard: Arc::new(TokenGuard::new(LoginLimits::default())),
                codes: Arc::default(),
                extra_redirect_uris: Arc::new([]),
                trusted_proxies: TrustedProxies::default(),
            }),
        })
    }

    /// The issuer URL for a public base URL: `{base_url}/realms/orderflow`.
    pub fn issuer_url_for_base(base_url: &str) -> String {
        format!("{}{REALM_PATH}", base_url.trim_end_matches('/'))
    }

    /// Where the signing key of `data_dir` is kept.
    pub fn signing_key_path(data_dir: &Path) -> PathBuf {
        signing_key::key_path(data_dir)
    }

    /// The same issuer (key, users, clients) under another URL, e.g. once the listener's
    /// port is known.
    pub fn with_issuer_url(mut self, issuer_url: String) -> Result<Self, DevIssuerError> {
        Arc::make_mut(&mut self.state).issuer_url = normalized_issuer_url(issuer_url)?;
        Ok(self)
    }

    /// Access tokens live `lifetime` (clamped to 1 s ..= [`Self::MAX_TOKEN_LIFETIME`]).
    pub fn with_token_lifetime(mut self, lifetime: Duration) -> Self {
        Arc::make_mut(&mut self.state).lifetimes = lifetimes_for(lifetime);
        self
    }

    /// The `orderflow-service` client's secret and the roles its tokens carry.
    pub fn with_service_client(mut self, secret: String, roles: Vec<String>) -> Self {
        Arc::make_mut(&mut self.state).service_client = ServiceClient { secret, roles };
        self
    }

    /// The issuer URL tokens carry in `iss`.
    pub fn issuer_url(&self) -> &str {
        &self.state.issuer_url
    }

    /// The signing key's `kid` (its RFC 7638 thumbprint).
    pub fn key_id(&self) -> &str {
        &self.state.signing_key.key_id
    }

    /// The users who may sign in (passwords are not exposed).
    pub fn users(&self) -> &[DevUser] {
        &self.state.users
    }

    /// An access token for `username` as if it had signed in to `orderflow-web`, without a
    /// password: for `orderflow token --user NAME`, which already holds the signing key.
    pub fn issue_for_user(&self, username: &str) -> Result<TokenResponse, DevIssuerError> {
        let user = self
            .state
            .users
            .iter()
            .find(|user| user.username() == username)
            .ok_or_else(|| DevIssuerError::UnknownUser(username.to_owned()))?;
        self.mint_for_user(user, WEB_CLIENT_ID, None, None)
    }

    /// An access token for the `orderflow-service` service account.
    pub fn issue_for_service_client(&self) -> Result<TokenResponse, DevIssuerError> {
        let username = ServiceClient::username();
        tokens::mint(
            &self.state.signing_key,
            &self.state.issuer_url,
            self.state.lifetimes,
            &Grant {
                subject: ServiceClient::subject(),
                username: &username,
                roles: &self.state.service_client.roles,
                client_id: SERVICE_CLIENT_ID,
                session: None,
                id_token: None,
            },
        )
    }

    /// The HTTP endpoints under `/realms/orderflow`: discovery, JWKS (`…/certs`), token,
    /// the authorization endpoint with its login page (`…/auth`) and end-session (`…/logout`).
    pub fn router(&self) -> axum::Router {
        routes::router(self.clone())
    }

    /// Redirect URIs (exact strings) `orderflow-web` may use beside the issuer's own
    /// `{base}/` and `{base}/callback`, e.g. a console served from another origin; also
    /// allowed as `post_logout_redirect_uri`.
    pub fn with_redirect_uris(mut self, uris: Vec<String>) -> Self {
        Arc::make_mut(&mut self.state).extra_redirect_uris = uris.into();
        self
    }

    /// Believes `X-Forwarded-For` from these proxies when counting failed logins per client
    /// address (default: none; the peer's address counts). See [`TrustedProxies`].
    pub fn with_trusted_proxies(mut self, proxies: TrustedProxies) -> Self {
        Arc::make_mut(&mut self.state).trusted_proxies = proxies;
        self
    }

    /// The address a request came from: its peer's, or behind a trusted proxy the client's
    /// that the proxies name.
    fn client_address(
        &self,
        extensions: &axum::http::Extensions,
        headers: &axum::http::HeaderMap,
    ) -> Option<std::net::IpAddr> {
        let peer = extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|axum::extract::ConnectInfo(address)| address.ip());
        self.state.trusted_proxies.client_address(peer, headers)
    }

    /// Limits failed password logins per user and per client address (default: 5 a minute).
    pub fn with_login_limits(mut self, limits: LoginLimits) -> Self {
        Arc::make_mut(&mut self.state).guard = Arc::new(TokenGuard::new(limits));
        self
    }

    /// The user of a password login, unless the user or the address is locked out (how long
    /// for) or the credentials are wrong (`None` inside).
    fn password_login(
        &self,
        username: &str,
        password: &str,
        address: Option<std::net::IpAddr>,
    ) -> Result<Option<&DevUser>, Duration> {
        let guard = &self.state.guard;
        if let Some(left) = guard.login_blocked_for(username, address) {
            return Err(left);
        }
        match directory::authenticate(&self.state.users, username, password) {
            Some(user) => {
                guard.login_succeeded(username);
                Ok(Some(user))
            }
            None => {
                // Only known usernames get a count of their own, so sprayed names cannot
                // crowd a real user's count out of the table.
                let known = self
                    .state
                    .users
                    .iter()
                    .any(|user| user.username() == username);
                guard.login_failed(known.then_some(username), address);
                Ok(None)
            }
        }
    }

    /// Access, refresh and ID tokens of a user session (`scope` always has `openid`, so an
    /// ID token comes with each, as Keycloak's would); `nonce` goes into the ID token.
    fn mint_for_user(
        &self,
        user: &DevUser,
        client_id: &str,
        session: Option<uuid::Uuid>,
        nonce: Option<&str>,
    ) -> Result<TokenResponse, DevIssuerError> {
        tokens::mint(
            &self.state.signing_key,
            &self.state.issuer_url,
            self.state.lifetimes,
            &Grant {
                subject: user.id(),
                username: user.username(),
                roles: user.roles(),
                client_id,
                session: Some(session.unwrap_or_else(uuid::Uuid::new_v4)),
                id_token: Some(tokens::IdTokenRequest { nonce }),
            },
        )
    }

    /// New tokens for a valid refresh token issued to `client_id`, if its user still exists.
    fn refresh(
        &self,
        refresh_token: &str,
        client_id: &str,
    ) -> Option<Result<TokenResponse, DevIssuerError>> {
        let claims = tokens::verify_refresh_token(
            &self.state.signing_key,
            &self.state.issuer_url,
            refresh_token,
        )?;
        if claims.azp != client_id {
            return None;
        }
        let token_id = uuid::Uuid::parse_str(&claims.jti).ok()?;
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let valid_for = Duration::from_secs(u64::try_from(claims.exp - now).unwrap_or(0));
        let used = self.state.guard.use_refresh_token(
            token_id,
            claims.sid,
            valid_for,
            self.state.lifetimes.refresh,
        );
        if let Err(refusal) = used {
            if refusal == RefreshRefusal::Reused {
                tracing::warn!(session = %claims.sid, "a used refresh token was presented again: session revoked");
            }
            return None;
        }
        let user = self
            .state
            .users
            .iter()
            .find(|user| user.id() == claims.sub)?;
        Some(self.mint_for_user(user, client_id, Some(claims.sid), None))
    }
}

fn lifetimes_for(access: Duration) -> Lifetimes {
    let access = access.clamp(Duration::from_secs(1), DevIssuer::MAX_TOKEN_LIFETIME);
    Lifetimes {
        access,
        refresh: access * 2,
    }
}

/// Checks the issuer URL is absolute http(s) without query or fragment; drops a trailing `/`.
fn normalized_issuer_url(issuer_url: String) -> Result<String, DevIssuerError> {
    let trimmed = issuer_url.trim().trim_end_matches('/');
    let host_and_path = trimmed
        .strip_prefix("https://")
        .or_else(|| trimmed.strip_prefix("http://"));
    match host_and_path {
        Some(rest)
            if !rest.is_empty() && !rest.starts_with('/') && !rest.contains(['?', '#', ' ']) =>
        {
            Ok(trimmed.to_owned())
        }
        _ => Err(DevIssuerError::InvalidIssuerUrl(issuer_url)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_issuer_url_of_a_base_url_is_its_orderflow_realm() {
        assert_eq!(
            DevIssuer::issuer_url_for_base("http://127.0.0.1:8080/"),
            "http://127.0.0.1:8080/realms/orderflow"
        );
    }

    #[test]
    fn issuer_urls_must_be_absolute_http_urls() {
        assert_eq!(
            normalized_issuer_url("http://localhost:1/realms/orderflow/".into()).ok(),
            Some("http://localhost:1/realms/orderflow".into())
        );
        for bad in [
            "",
            "localhost:8080",
            "ftp://x",
            "http://",
            "http:///path",
            "http://x/?a=b",
        ] {
            assert!(normalized_issuer_url(bad.into()).is_err(), "{bad}");
        }
    }
}
