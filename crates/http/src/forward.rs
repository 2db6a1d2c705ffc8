//! Forwarding to another component on the same origin: `orderflow gateway` passes the web
//! console's calls that it does not answer itself — the orders API (`/orders…`) and the
//! push hub (`/hubs/…`) — to where those run, so a console served by the gateway alone
//! works on one origin (no CORS, one place to put TLS in front of).
//!
//! Guarantees:
//! - the method, path, query, headers and body reach the upstream as they came, except the
//!   hop-by-hop headers (RFC 9110 §7.6.1) and `Host`, which names the upstream; its answer
//!   comes back as it is, streamed both ways;
//! - a WebSocket upgrade is forwarded as one; once the upstream switched protocols, the two
//!   sockets are joined byte for byte until either side closes;
//! - an upstream that cannot be reached, or fails before answering, is a 502 problem
//!   (`upstream_unavailable`); nothing is retried (a request may not be idempotent).
//!
//! Each request gets its own plain-HTTP/1.1 connection to the upstream: this serves a
//! console's traffic, not a public API's (the gateway's own `/api/orders` is not forwarded).

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::Problem;

/// Where requests go: an `http://host:port` base URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upstream {
    /// `host:port`, connected to and sent as `Host`.
    authority: String,
}

impl Upstream {
    /// Reads `http://host[:port]` (a path other than `/` is refused; `https` is not
    /// offered: forward over a private network).
    pub fn parse(base_url: &str) -> Result<Upstream, String> {
        let uri: Uri = base_url
            .parse()
            .map_err(|error| format!("{base_url:?} is not a URL: {error}"))?;
        if uri.scheme_str() != Some("http") {
            return Err(format!(
                "{base_url:?}: only http:// upstreams are forwarded to"
            ));
        }
        if !matches!(uri.path(), "" | "/") || uri.query().is_some() {
            return Err(format!(
                "{base_url:?}: give the base URL only, without a path"
            ));
        }
        let authority = uri
            .authority()
            .ok_or_else(|| format!("{base_url:?} names no host"))?;
        let port = authority.port_u16().unwrap_or(80);
        Ok(Upstream {
            authority: format!("{}:{port}", authority.host()),
        })
    }
}

/// Forwards every request under each of `prefixes` (`/orders` covers `/orders` and
/// `/orders/…`) to `upstream`.
pub fn forwarding_router(prefixes: &[&str], upstream: Upstream) -> Router {
    let upstream = Arc::new(upstream);
    let mut router = Router::new();
    for prefix in prefixes {
        router = router
            .route(prefix, any(forward))
            .route(&format!("{prefix}/{{*rest}}"), any(forward));
    }
    router.with_state(upstream)
}

/// Headers that belong to one connection, not to the request (RFC 9110 §7.6.1).
const HOP_BY_HOP: [header::HeaderName; 6] = [
    header::CONNECTION,
    header::PROXY_AUTHENTICATE,
    header::PROXY_AUTHORIZATION,
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
];

async fn forward(State(upstream): State<Arc<Upstream>>, mut request: Request) -> Response {
    let upgrade = wants_upgrade(&request).then(|| hyper::upgrade::on(&mut request));
    let path = request
        .uri()
        .path_and_query()
        .map_or("/", |path| path.as_str())
        .to_owned();
    let Ok(uri) = path.parse::<Uri>() else {
        return unavailable("the request's path cannot be forwarded");
    };
    *request.uri_mut() = uri;
    let headers = request.headers_mut();
    for name in HOP_BY_HOP {
        headers.remove(name);
    }
    if upgrade.is_some() {
        headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    } else {
        headers.remove(header::UPGRADE);
    }
    match HeaderValue::from_str(&upstream.authority) {
        Ok(host) => headers.insert(header::HOST, host),
        Err(_) => return unavailable("the upstream's address is not a valid host"),
    };

    let stream = match TcpStream::connect(&upstream.authority).await {
        Ok(stream) => stream,
        Err(error) => {
            tracing::warn!(upstream = %upstream.authority, %error, "cannot reach the upstream");
            return unavailable("the service behind this gateway cannot be reached");
        }
    };
    let (mut sender, connection) =
        match hyper::client::conn::http1::handshake(TokioIo::new(stream)).await {
            Ok(handshake) => handshake,
            Err(error) => {
                tracing::warn!(upstream = %upstream.authority, %error, "upstream handshake failed");
                return unavailable("the service behind this gateway cannot be reached");
            }
        };
    tokio::spawn(async move {
        if let Err(error) = connection.with_upgrades().await {
            tracing::debug!(%error, "upstream connection ended with an error");
        }
    });
    let mut response = match sender.send_request(request).await {
        Ok(response) => response,
        Err(error) => {
            tracing::warn!(upstream = %upstream.authority, %error, "the upstream did not answer");
            return unavailable("the service behind this gateway did not answer");
        }
    };
    if let Some(client_side) =
        upgrade.filter(|_| response.status() == StatusCode::SWITCHING_PROTOCOLS)
    {
        let upstream_side = hyper::upgrade::on(&mut response);
        tokio::spawn(async move {
            let (Ok(client), Ok(server)) = (client_side.await, upstream_side.await) else {
                tracing::debug!("a forwarded upgrade did not complete");
                return;
            };
            let _ended =
                tokio::io::copy_bidirectional(&mut TokioIo::new(client), &mut TokioIo::new(server))
                    .await;
        });
    }
    let mut response = response.map(Body::new);
    for name in HOP_BY_HOP {
        if name != header::CONNECTION || response.status() != StatusCode::SWITCHING_PROTOCOLS {
            response.headers_mut().remove(name);
        }
    }
    response
}

/// Whether the client asks to switch protocols (a WebSocket).
fn wants_upgrade(request: &Request) -> bool {
    let connection_upgrade = request
        .headers()
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|token| token.trim().eq_ignore_ascii_case("upgrade"));
    connection_upgrade && request.headers().contains_key(header::UPGRADE)
}

fn unavailable(detail: &str) -> Response {
    Problem::new(
        StatusCode::BAD_GATEWAY,
        "upstream_unavailable",
        "Upstream unavailable",
        detail,
    )
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tower::ServiceExt;

    #[tokio::test]
    async fn a_request_reaches_the_upstream_as_it_came_and_its_answer_comes_back() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let echo = Router::new().route(
            "/orders/{id}/confirm",
            axum::routing::post(|request: Request| async move {
                let (parts, body) = request.into_parts();
                let body = axum::body::to_bytes(body, 1024).await.unwrap();
                let seen = |name: header::HeaderName| {
                    parts
                        .headers
                        .get(name)
                        .map(|value| value.to_str().unwrap().to_owned())
                };
                let echoed = serde_json::json!({
                    "uri": parts.uri.to_string(),
                    "host": seen(header::HOST),
                    "authorization": seen(header::AUTHORIZATION),
                    "te": seen(header::TE),
                    "body": String::from_utf8(body.to_vec()).unwrap(),
                });
                (StatusCode::CREATED, axum::Json(echoed))
            }),
        );
        tokio::spawn(async move { axum::serve(listener, echo).await });
        let router = forwarding_router(
            &["/orders"],
            Upstream::parse(&format!("http://{address}")).unwrap(),
        );
        let answer = router
            .oneshot(
                Request::post("http://gateway.example/orders/o-1/confirm?why=test")
                    .header(header::AUTHORIZATION, "Bearer t")
                    .header(header::TE, "trailers")
                    .body(Body::from("{}"))
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(answer.status(), StatusCode::CREATED);
        let body = axum::body::to_bytes(answer.into_body(), 1024)
            .await
            .unwrap();
        let echoed: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            echoed,
            serde_json::json!({
                "uri": "/orders/o-1/confirm?why=test",
                "host": address.to_string(),
                "authorization": "Bearer t",
                "te": null,
                "body": "{}",
            })
        );
    }

    #[tokio::test]
    async fn an_upstream_that_is_down_is_a_502_problem() {
        let gone = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = gone.local_addr().unwrap();
        drop(gone);
        let router = forwarding_router(
            &["/orders"],
            Upstream::parse(&format!("http://{address}")).unwrap(),
        );
        let answer = router
            .oneshot(Request::get("/orders/o-1?x=1").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(answer.status(), StatusCode::BAD_GATEWAY);
        assert_eq!(answer.headers()[header::CONTENT_TYPE], crate::PROBLEM_JSON);
    }

    #[test]
    fn an_upstream_is_a_plain_http_base_url() {
        assert_eq!(
            Upstream::parse("http://127.0.0.1:8082").unwrap().authority,
            "127.0.0.1:8082"
        );
        assert_eq!(
            Upstream::parse("http://orders/").unwrap().authority,
            "orders:80"
        );
        for refused in [
            "https://orders",
            "http://orders/api",
            "orders:8082",
            "http://",
        ] {
            assert!(Upstream::parse(refused).is_err(), "{refused}");
        }
    }
}
