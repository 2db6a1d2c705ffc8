//! A stub of the orderflow endpoints the benchmarks hit, for checking the load generator
//! itself (its own ceiling and its accounting) without the real service:
//! `cargo run --release -p orderflow-loadtest --example stub_server -- 127.0.0.1:8089`.
//!
//! `POST /orders` answers 201 when the bearer token is `stub-token` (else 401), `GET /fail`
//! answers 500, and the Keycloak-shaped token endpoint hands out `stub-token` to anyone.
//! It binds loopback only.

use std::net::SocketAddr;

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};

const TOKEN: &str = "stub-token";

async fn create_order(headers: HeaderMap) -> (StatusCode, &'static str) {
    let authorized = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.strip_prefix("Bearer ") == Some(TOKEN));
    if authorized {
        (
            StatusCode::CREATED,
            r#"{"orderId":"0192f1a8-0000-7000-8000-000000000000","status":"pending"}"#,
        )
    } else {
        (StatusCode::UNAUTHORIZED, "")
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let addr: SocketAddr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8089".to_owned())
        .parse()?;
    anyhow::ensure!(addr.ip().is_loopback(), "the stub binds loopback only");
    let app = Router::new()
        .route("/orders", post(create_order))
        .route(
            "/fail",
            get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "boom") }),
        )
        .route(
            "/realms/orderflow/protocol/openid-connect/token",
            post(|| async { format!(r#"{{"access_token":"{TOKEN}","token_type":"Bearer"}}"#) }),
        );
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!("stub listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
