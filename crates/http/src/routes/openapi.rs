//! `GET /openapi.json`: the OpenAPI 3.1 document of the HTTP API
//! (`crates/http/openapi.json`), served as written.
//!
//! Guarantees: the document is the contract the tests hold the code to —
//! `tests/api/openapi.rs` checks it with `openapi-spec-validator`, checks that
//! every route of the routers is in it, and validates every answer the API
//! tests receive against the schema it documents for that status.

use axum::http::header;
use axum::response::IntoResponse;

/// The document, compiled in.
pub const OPENAPI_JSON: &str = include_str!("../../openapi.json");

/// `GET /openapi.json` (no token needed).
pub(crate) async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI_JSON)
}
