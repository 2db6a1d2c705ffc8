//! Reading a token request: its form parameters and which client sent it.
//!
//! Guarantees: the body is `application/x-www-form-urlencoded`, at most 16 KiB, with no
//! parameter repeated; the client is authenticated by HTTP Basic or by `client_id` (+
//! `client_secret`) in the form — never both — and the confidential client only with its
//! secret (compared in constant time). Parameter values never appear in `Debug` output.

use std::collections::BTreeMap;
use std::fmt;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, header};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::DevIssuer;
use super::directory::{SERVICE_CLIENT_ID, WEB_CLIENT_ID};
use super::oauth_error::OAuthError;

/// Token requests larger than this are refused with 413.
const MAX_TOKEN_REQUEST_BYTES: usize = 16 * 1024;

/// The parameters of a token request (`application/x-www-form-urlencoded`).
pub(crate) struct TokenRequestForm {
    parameters: BTreeMap<String, String>,
}

impl fmt::Debug for TokenRequestForm {
    /// Names only: values include passwords, secrets and refresh tokens.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.parameters.keys()).finish()
    }
}

impl TokenRequestForm {
    pub(crate) async fn read(headers: &HeaderMap, body: Body) -> Result<Self, OAuthError> {
        let is_form = headers
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| {
                value.split(';').next().is_some_and(|mime| {
                    mime.trim()
                        .eq_ignore_ascii_case("application/x-www-form-urlencoded")
                })
            });
        if !is_form {
            return Err(OAuthError::invalid_request(
                "Content-Type must be application/x-www-form-urlencoded",
            ));
        }
        let declared_length = headers
            .get(header::CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse::<usize>().ok());
        if declared_length.is_some_and(|length| length > MAX_TOKEN_REQUEST_BYTES) {
            return Err(OAuthError::body_too_large());
        }
        let bytes = axum::body::to_bytes(body, MAX_TOKEN_REQUEST_BYTES)
            .await
            .map_err(|_| OAuthError::body_too_large())?;
        Self::parse(&bytes)
    }

    /// Parameters from an urlencoded text (a form body or a query string); a repeated
    /// parameter is refused.
    pub(crate) fn parse(bytes: &[u8]) -> Result<Self, OAuthError> {
        let mut parameters = BTreeMap::new();
        for (name, value) in form_urlencoded::parse(bytes) {
            if parameters
                .insert(name.clone().into_owned(), value.into_owned())
                .is_some()
            {
                return Err(OAuthError::invalid_request(format!(
                    "Parameter {name} appears more than once"
                )));
            }
        }
        Ok(Self { parameters })
    }

    /// A parameter's value; empty counts as absent.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.parameters
            .get(name)
            .map(String::as_str)
            .filter(|value| !value.is_empty())
    }

    pub(crate) fn required(&self, name: &str, missing: &str) -> Result<&str, OAuthError> {
        self.get(name)
            .ok_or_else(|| OAuthError::invalid_request(missing))
    }
}

/// The client of a token request, once authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AuthenticatedClient {
    /// `orderflow-web`, public: no secret.
    Web,
    /// `orderflow-service`, confidential: its secret was presented and matched.
    Service,
}

impl AuthenticatedClient {
    /// Authenticates by HTTP Basic or by `client_id` (+ `client_secret`) in the form.
    pub(crate) fn from_request(
        issuer: &DevIssuer,
        headers: &HeaderMap,
        form: &TokenRequestForm,
    ) -> Result<Self, OAuthError> {
        let (client_id, secret) = match headers.get(header::AUTHORIZATION) {
            Some(authorization) => {
                let (client_id, secret) =
                    basic_credentials(authorization).ok_or_else(OAuthError::invalid_client)?;
                if form.get("client_secret").is_some() {
                    return Err(OAuthError::invalid_request(
                        "Use one client authentication method, not two",
                    ));
                }
                if form
                    .get("client_id")
                    .is_some_and(|form_id| form_id != client_id)
                {
                    return Err(OAuthError::invalid_client());
                }
                (client_id, Some(secret))
            }
            None => {
                let client_id = form.required("client_id", "Missing parameter: client_id")?;
                (
                    client_id.to_owned(),
                    form.get("client_secret").map(str::to_owned),
                )
            }
        };
        match client_id.as_str() {
            WEB_CLIENT_ID => Ok(Self::Web),
            SERVICE_CLIENT_ID
                if secret
                    .as_deref()
                    .is_some_and(|secret| issuer.state.service_client.secret_matches(secret)) =>
            {
                Ok(Self::Service)
            }
            _ => Err(OAuthError::invalid_client()),
        }
    }

    pub(crate) fn client_id(self) -> &'static str {
        match self {
            Self::Web => WEB_CLIENT_ID,
            Self::Service => SERVICE_CLIENT_ID,
        }
    }
}

/// `Basic base64(urlencode(id) ":" urlencode(secret))` (RFC 6749 §2.3.1).
fn basic_credentials(authorization: &HeaderValue) -> Option<(String, String)> {
    let (scheme, encoded) = authorization.to_str().ok()?.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (client_id, secret) = decoded.split_once(':')?;
    Some((form_decode(client_id)?, form_decode(secret)?))
}

fn form_decode(text: &str) -> Option<String> {
    let spaced = text.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8()
        .ok()
        .map(|decoded| decoded.into_owned())
}
