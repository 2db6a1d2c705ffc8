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

/// Where the console signs in, and what it may connect to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleConfig {
    /// The OIDC issuer (its `…/protocol/openid-connect/*` endpoints are used, Keycloak's paths).
    pub issuer_url: String,
    /// Origins beside `'self'` the page may fetch from or open WebSockets to
    /// (`http://127.0.0.1:8080`, `ws://127.0.0.1:8080`, the issuer's); any that is not a
    /// plain origin is left out.
    pub connect_origins: Vec<String>,
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
        policy: content_security_policy(&config.connect_origins),
    });
    Router::new()
        .route("/", get(index))
        .route("/callback", get(index))
        .route("/console/{file}", get(asset))
        .with_state(served)
}

async fn index(State(served): State<Arc<Served>>) -> Response {
    let mut response = (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
            (header::X_FRAME_OPTIONS, "DENY"),
            (header::REFERRER_POLICY, "no-referrer"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        served.index.clone(),
    )
        .into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_SECURITY_POLICY, served.policy.clone());
    response
}

async fn asset(Path(file): Path<String>) -> Response {
    let Some(asset) = assets::by_hashed_name(&file) else {
        return (StatusCode::NOT_FOUND, "no such file").into_response();
    };
    (
        [
            (header::CONTENT_TYPE, asset.content_type),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        asset.bytes,
    )
        .into_response()
}

/// Our scripts and styles only; fetches and WebSockets to us and `connect_origins`.
fn content_security_policy(connect_origins: &[String]) -> HeaderValue {
    let mut connect = vec!["'self'"];
    for origin in connect_origins {
        let plain = origin
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || b":/.-[]".contains(&byte));
        if plain && !connect.contains(&origin.as_str()) {
            connect.push(origin);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_connects_to_us_and_plain_origins_only() {
        let policy = content_security_policy(&[
            "http://127.0.0.1:8081".into(),
            "ws://127.0.0.1:8084".into(),
            "http://x; script-src *".into(),
        ]);
        let policy = policy.to_str().unwrap_or_default();
        assert!(
            policy.contains("connect-src 'self' http://127.0.0.1:8081 ws://127.0.0.1:8084;"),
            "{policy}"
        );
        assert!(policy.starts_with("default-src 'none'; script-src 'self';"));
    }
}
