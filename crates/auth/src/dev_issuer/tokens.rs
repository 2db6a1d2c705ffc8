//! Minting tokens in Keycloak's exact layout, and checking our own refresh tokens.
//!
//! Access tokens: RS256, header `kid` + `typ: "JWT"`, claims `iss`, `sub`, `azp`,
//! `aud: "account"`, `exp`, `iat`, `jti`, `typ: "Bearer"`, `preferred_username`,
//! `realm_access.roles`, `scope` and, for user sessions, `sid`. Refresh tokens carry
//! `typ: "Refresh"` and `aud` = the issuer, so no resource server accepts them as access
//! tokens. ID tokens (code flow and refreshes of it) carry `typ: "ID"`, `aud` = the client,
//! `azp`, `sid`, `auth_time`, `preferred_username` and the request's `nonce`. The token
//! response matches Keycloak's JSON field for field.

use std::fmt;
use std::time::Duration;

use jsonwebtoken::{Algorithm, Header, Validation};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use super::DevIssuerError;
use super::signing_key::SigningKey;

/// The scopes every token carries.
pub(crate) const SCOPE: &str = "openid profile email";
/// Keycloak's `aud` for tokens without an audience mapper.
const ACCOUNT_AUDIENCE: &str = "account";

/// The audience of every access token the dev issuer mints, beside Keycloak's `account`:
/// the one services trusting the dev issuer require (Keycloak: an audience mapper).
pub const DEV_AUDIENCE: &str = "orderflow-api";

/// The successful answer of the token endpoint, as Keycloak sends it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenResponse {
    /// The signed access token (a JWT).
    pub access_token: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// Seconds until the refresh token expires (0 when there is none).
    pub refresh_expires_in: u64,
    /// A refresh token, for user sessions only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// An OpenID Connect ID token, for the authorization-code grant and its refreshes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    /// Always `Bearer`.
    pub token_type: String,
    /// Keycloak's revocation policy timestamp; always 0 here.
    #[serde(rename = "not-before-policy", default)]
    pub not_before_policy: i64,
    /// The session id (`sid`) for user sessions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_state: Option<String>,
    /// The granted scopes.
    pub scope: String,
}

impl fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenResponse")
            .field("access_token", &"[redacted]")
            .field("expires_in", &self.expires_in)
            .field("refresh_expires_in", &self.refresh_expires_in)
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "[redacted]"),
            )
            .field("id_token", &self.id_token.as_ref().map(|_| "[redacted]"))
            .field("token_type", &self.token_type)
            .field("session_state", &self.session_state)
            .field("scope", &self.scope)
            .finish()
    }
}

#[derive(Serialize)]
struct AccessTokenClaims<'a> {
    iss: &'a str,
    sub: String,
    azp: &'a str,
    aud: [&'static str; 2],
    exp: i64,
    iat: i64,
    jti: String,
    typ: &'static str,
    preferred_username: &'a str,
    realm_access: RealmAccess<'a>,
    scope: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    sid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_id: Option<&'a str>,
}

#[derive(Serialize)]
struct IdTokenClaims<'a> {
    iss: &'a str,
    sub: String,
    aud: &'a str,
    azp: &'a str,
    exp: i64,
    iat: i64,
    auth_time: i64,
    jti: String,
    typ: &'static str,
    sid: String,
    preferred_username: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    nonce: Option<&'a str>,
}

#[derive(Serialize)]
struct RealmAccess<'a> {
    roles: &'a [String],
}

/// The claims of a refresh token minted here.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct RefreshTokenClaims {
    iss: String,
    pub(crate) sub: Uuid,
    pub(crate) azp: String,
    aud: String,
    pub(crate) exp: i64,
    iat: i64,
    pub(crate) jti: String,
    typ: String,
    pub(crate) sid: Uuid,
    scope: String,
}

/// Who a token is for.
#[derive(Debug)]
pub(crate) struct Grant<'a> {
    pub(crate) subject: Uuid,
    pub(crate) username: &'a str,
    pub(crate) roles: &'a [String],
    pub(crate) client_id: &'a str,
    /// The user session (`sid`); `None` for service accounts, which get no refresh token.
    pub(crate) session: Option<Uuid>,
    /// `Some` for an ID token beside the access token, with the request's nonce if any.
    pub(crate) id_token: Option<IdTokenRequest<'a>>,
}

/// An ID token is wanted: the authorization request's `nonce`, if it had one.
#[derive(Debug, Clone, Copy)]
pub(crate) struct IdTokenRequest<'a> {
    pub(crate) nonce: Option<&'a str>,
}

/// How long minted tokens live.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Lifetimes {
    pub(crate) access: Duration,
    pub(crate) refresh: Duration,
}

/// Signs an access token (and, for user sessions, a refresh token) for `grant`.
pub(crate) fn mint(
    key: &SigningKey,
    issuer: &str,
    lifetimes: Lifetimes,
    grant: &Grant<'_>,
) -> Result<TokenResponse, DevIssuerError> {
    let issued_at = OffsetDateTime::now_utc().unix_timestamp();
    let access_claims = AccessTokenClaims {
        iss: issuer,
        sub: grant.subject.to_string(),
        azp: grant.client_id,
        aud: [DEV_AUDIENCE, ACCOUNT_AUDIENCE],
        exp: issued_at + seconds(lifetimes.access),
        iat: issued_at,
        jti: Uuid::new_v4().to_string(),
        typ: "Bearer",
        preferred_username: grant.username,
        realm_access: RealmAccess { roles: grant.roles },
        scope: SCOPE,
        sid: grant.session.map(|session| session.to_string()),
        client_id: grant.session.is_none().then_some(grant.client_id),
    };
    let access_token = sign(key, &access_claims)?;
    let refresh_token = match grant.session {
        None => None,
        Some(session) => Some(sign(
            key,
            &RefreshTokenClaims {
                iss: issuer.to_owned(),
                sub: grant.subject,
                azp: grant.client_id.to_owned(),
                aud: issuer.to_owned(),
                exp: issued_at + seconds(lifetimes.refresh),
                iat: issued_at,
                jti: Uuid::new_v4().to_string(),
                typ: "Refresh".to_owned(),
                sid: session,
                scope: SCOPE.to_owned(),
            },
        )?),
    };
    let id_token = match (grant.id_token, grant.session) {
        (Some(request), Some(session)) => Some(sign(
            key,
            &IdTokenClaims {
                iss: issuer,
                sub: grant.subject.to_string(),
                aud: grant.client_id,
                azp: grant.client_id,
                exp: issued_at + seconds(lifetimes.access),
                iat: issued_at,
                auth_time: issued_at,
                jti: Uuid::new_v4().to_string(),
                typ: "ID",
                sid: session.to_string(),
                preferred_username: grant.username,
                nonce: request.nonce,
            },
        )?),
        _ => None,
    };
    Ok(TokenResponse {
        access_token,
        id_token,
        expires_in: lifetimes.access.as_secs(),
        refresh_expires_in: if refresh_token.is_some() {
            lifetimes.refresh.as_secs()
        } else {
            0
        },
        refresh_token,
        token_type: "Bearer".to_owned(),
        not_before_policy: 0,
        session_state: grant.session.map(|session| session.to_string()),
        scope: SCOPE.to_owned(),
    })
}

/// The `sid` of an ID token this issuer minted for `client_id`, expired or not (logout's
/// `id_token_hint` may be an old one).
pub(crate) fn id_token_session(
    key: &SigningKey,
    issuer: &str,
    client_id: &str,
    token: &str,
) -> Option<Uuid> {
    #[derive(Deserialize)]
    struct Hint {
        typ: String,
        sid: Uuid,
    }
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_required_spec_claims(&["iss", "aud", "sub"]);
    validation.set_issuer(&[issuer]);
    validation.set_audience(&[client_id]);
    validation.validate_exp = false;
    let hint = jsonwebtoken::decode::<Hint>(token, &key.decoding_key, &validation)
        .ok()?
        .claims;
    (hint.typ == "ID").then_some(hint.sid)
}

/// The claims of a refresh token this issuer minted and that is still valid, if it is one.
pub(crate) fn verify_refresh_token(
    key: &SigningKey,
    issuer: &str,
    token: &str,
) -> Option<RefreshTokenClaims> {
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    validation.set_issuer(&[issuer]);
    validation.set_audience(&[issuer]);
    validation.leeway = 0;
    let claims = jsonwebtoken::decode::<RefreshTokenClaims>(token, &key.decoding_key, &validation)
        .ok()?
        .claims;
    (claims.typ == "Refresh").then_some(claims)
}

fn sign<T: Serialize>(key: &SigningKey, claims: &T) -> Result<String, DevIssuerError> {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(key.key_id.clone());
    header.typ = Some("JWT".to_owned());
    jsonwebtoken::encode(&header, claims, &key.encoding_key)
        .map_err(|error| DevIssuerError::Signing(error.to_string()))
}

fn seconds(duration: Duration) -> i64 {
    i64::try_from(duration.as_secs()).unwrap_or(i64::MAX / 2)
}
