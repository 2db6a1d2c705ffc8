//! The web console: the buyers' and admins' browser front end, served at `/` by
//! `orderflow up` and `orderflow gateway`.
//!
//! Plain HTML, CSS and JavaScript in `web/static/` (no framework, no bundler); the one
//! third-party file, the official `@microsoft/signalr` browser build, comes from npm through
//! the committed lock (`build.rs`). Everything is embedded in the binary.
//!
//! Guarantees:
//! * `/` and `/callback` (where the login returns) answer `index.html`, `no-cache`; every
//!   other file is at `/console/{stem}.{hash}.{ext}`, its name carrying a SHA-256 prefix of
//!   its content, `immutable` for a year.
//! * Every answer is `nosniff`; `index.html` also `X-Frame-Options: DENY`,
//!   `Referrer-Policy: no-referrer` and a CSP that runs only our own scripts and styles and
//!   connects only to this origin (HTTP and WebSocket) and the identity provider's.

mod assets;

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

/// Where the console finds the identity provider and the hub.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleConfig {
    /// The OIDC issuer (its `…/protocol/openid-connect/*` endpoints are used, Keycloak's paths).
    pub issuer_url: String,
    /// The public base URL the console is served under (`http://127.0.0.1:8080`).
    pub base_url: String,
}

#[derive(Debug)]
struct Served {
    index: String,
    policy: HeaderValue,
}

/// The console's routes: `/`, `/callback` and `/console/{file}`.
pub fn router(config: &ConsoleConfig) -> Router {
    let served = Arc::new(Served {
        index: assets::index_html(&config.issuer_url),
        policy: content_security_policy(config),
    });
    Router::new()
        .route("/", get(index))
        .route("/callback", get(index))
        .route("/console/{file}", get(asset))
        .with_state(served)
}

async fn index(State(served): State<Arc<Served>>) -> Response {
    let mut response = served.index.clone().into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(header::CONTENT_SECURITY_POLICY, served.policy.clone());
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

async fn asset(Path(file): Path<String>) -> Response {
    let Some(asset) = assets::by_hashed_name(&file) else {
        return (StatusCode::NOT_FOUND, "no such file").into_response();
    };
    let mut response = asset.bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// Our scripts and styles only; fetches to us and the identity provider; WebSockets to us.
fn content_security_policy(config: &ConsoleConfig) -> HeaderValue {
    let plain = |origin: &str| {
        origin
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || b":/.-[]".contains(&byte))
    };
    let own = origin_of(&config.base_url);
    let mut connect = vec!["'self'".to_owned()];
    for origin in [own.to_owned(), origin_of(&config.issuer_url).to_owned()] {
        if plain(&origin) && !connect.contains(&origin) {
            connect.push(origin);
        }
    }
    if let Some(rest) = own.strip_prefix("http") {
        let websocket = format!("ws{rest}");
        if plain(&websocket) {
            connect.push(websocket);
        }
    }
    let policy = format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         connect-src {}; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        connect.join(" ")
    );
    HeaderValue::from_str(&policy).unwrap_or_else(|_| {
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'",
        )
    })
}

/// `scheme://host[:port]` of an absolute URL.
fn origin_of(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(0, |index| index + 3);
    match url[after_scheme..].find(['/', '?', '#']) {
        Some(end) => &url[..after_scheme + end],
        None => url,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_connects_to_us_our_websockets_and_the_issuer_only() {
        let policy = content_security_policy(&ConsoleConfig {
            issuer_url: "http://127.0.0.1:8081/realms/orderflow".into(),
            base_url: "http://127.0.0.1:8084".into(),
        });
        let policy = policy.to_str().unwrap_or_default();
        assert!(
            policy.contains(
                "connect-src 'self' http://127.0.0.1:8084 http://127.0.0.1:8081 ws://127.0.0.1:8084;"
            ),
            "{policy}"
        );
        assert!(policy.starts_with("default-src 'none'; script-src 'self';"));
    }
}
