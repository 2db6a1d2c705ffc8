//! Fetching a bearer token once, before the run, with the OAuth2 password grant.
//!
//! Guarantees: the token endpoint is subject to the same loopback rule as the target; a
//! non-2xx answer or a body without `access_token` is an error (with the server's words),
//! never an empty token; the password is never printed by `Debug`.

use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{ACCEPT, CONTENT_TYPE, HOST, HeaderValue};
use hyper::{Method, Request};

use crate::Error;
use crate::client;
use crate::target::Target;

/// Largest token response we read.
const MAX_TOKEN_RESPONSE: usize = 1 << 20;

/// A string that `Debug` does not reveal.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Where the `Authorization: Bearer` value comes from.
#[derive(Debug, Clone)]
pub enum TokenSource {
    /// No `Authorization` header is added.
    None,
    /// A token given on the command line.
    Static(Secret),
    /// The OAuth2 password grant against a token endpoint (Keycloak-shaped).
    PasswordGrant {
        /// The token endpoint (boxed: it dwarfs the other variants).
        endpoint: Box<Target>,
        /// Public client id (`orderflow-web`).
        client_id: String,
        /// User name.
        username: String,
        /// Password.
        password: Secret,
    },
}

impl TokenSource {
    /// The access token to send, if any.
    pub async fn resolve(&self, timeout: Duration) -> Result<Option<Secret>, Error> {
        match self {
            Self::None => Ok(None),
            Self::Static(token) => Ok(Some(token.clone())),
            Self::PasswordGrant {
                endpoint,
                client_id,
                username,
                password,
            } => password_grant(endpoint, client_id, username, password, timeout)
                .await
                .map(Some),
        }
    }
}

async fn password_grant(
    endpoint: &Target,
    client_id: &str,
    username: &str,
    password: &Secret,
    timeout: Duration,
) -> Result<Secret, Error> {
    let form = form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", "password")
        .append_pair("client_id", client_id)
        .append_pair("username", username)
        .append_pair("password", &password.0)
        .finish();
    let mut request = Request::new(Full::new(Bytes::from(form)));
    *request.method_mut() = Method::POST;
    *request.uri_mut() = endpoint.path_and_query.clone();
    let headers = request.headers_mut();
    headers.insert(HOST, endpoint.host_header.clone());
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/x-www-form-urlencoded"),
    );
    headers.insert(ACCEPT, HeaderValue::from_static("application/json"));

    let addr = client::probe(&endpoint.addrs, timeout).await?;
    let (status, body) = client::fetch(addr, request, timeout, MAX_TOKEN_RESPONSE)
        .await
        .map_err(|e| Error::Token(format!("{}: {e}", endpoint.url)))?;
    if !status.is_success() {
        return Err(Error::Token(format!(
            "{} answered {status}: {}",
            endpoint.url,
            snippet(&body)
        )));
    }
    parse_access_token(&body)
}

/// Reads `access_token` from a token endpoint's JSON answer.
pub fn parse_access_token(body: &[u8]) -> Result<Secret, Error> {
    #[derive(serde::Deserialize)]
    struct TokenResponse {
        access_token: Option<String>,
    }
    let parsed: TokenResponse = serde_json::from_slice(body)
        .map_err(|e| Error::Token(format!("not JSON ({e}): {}", snippet(body))))?;
    match parsed.access_token {
        Some(token) if !token.is_empty() => Ok(Secret(token)),
        _ => Err(Error::Token(format!(
            "no access_token in {}",
            snippet(body)
        ))),
    }
}

fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut cut: String = text.chars().take(200).collect();
    if cut.len() < text.len() {
        cut.push('…');
    }
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_access_token_is_read_from_a_keycloak_shaped_answer() {
        let body = br#"{"access_token":"eyJ.abc.def","expires_in":300,"token_type":"Bearer"}"#;
        assert_eq!(
            parse_access_token(body).expect("token"),
            Secret("eyJ.abc.def".into())
        );
    }

    #[test]
    fn an_answer_without_a_token_is_an_error() {
        for body in [
            &br#"{"error":"invalid_grant"}"#[..],
            b"{\"access_token\":\"\"}",
            b"<html>",
        ] {
            assert!(matches!(parse_access_token(body), Err(Error::Token(_))));
        }
    }

    #[test]
    fn secrets_are_not_printed() {
        let source = TokenSource::Static(Secret("hunter2".into()));
        assert!(!format!("{source:?}").contains("hunter2"));
    }
}
