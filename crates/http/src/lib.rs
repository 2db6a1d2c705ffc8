//! The HTTP surface of orderflow: the orders API as an axum [`Router`](axum::Router).
//!
//! - [`orders_router`] serves `POST /orders`, `GET /orders/{id}`,
//!   `POST /orders/{id}/confirm`, `POST /orders/{id}/cancel`, `POST /orders/{id}/subscribers`,
//!   `GET /orders` (search), `/health/live` and `/health/ready` over an [`OrdersApi`].
//! - [`gateway_routes`] serves the API gateway's `POST /api/orders`, `GET /api/orders` and
//!   `GET /api/orders/{id}` over a [`GatewayApi`], to merge beside the orders router;
//!   [`gateway_router`] adds health and the fallback for a gateway on its own.
//! - `POST /admin/search/rebuild` starts re-creating the search index while searches keep
//!   being answered, `GET /admin/search/rebuild` follows it (admins only).
//! - Every request is authenticated by the [`TokenValidator`] (the bearer token becomes the
//!   [`orderflow_app::Actor`]) and sent through the [`Mediator`]; the app layer decides.
//! - Every error is `application/problem+json` ([`Problem`]); the mapping from the app's and
//!   the validator's errors lives in `error_mapping.rs`.
//! - Every response echoes `X-Correlation-Id`; writes carry `ETag` and `Orderflow-Position`.
//! - [`record_request`] counts and times requests per matched route, for `/metrics`.
//! - [`forwarding_router`] passes everything under some prefixes to an [`Upstream`] (a
//!   gateway alone forwards the console's `/orders` and `/hubs` calls), WebSockets included.
//! - [`trace_request`] runs every request in a server span that continues the client's
//!   W3C `traceparent`, or starts a trace.
//! - [`serve`] runs a router on a listener with a header read timeout, an idle timeout and a
//!   connection cap ([`ConnectionLimits`]).
//! - `GET /openapi.json` serves [`OPENAPI_JSON`], the OpenAPI 3.1 document of all of this.
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod correlation;
mod error_mapping;
pub mod extract;
mod forward;
mod problem;
mod request_metrics;
mod router;
mod routes;
mod server;
mod trace_context;
mod view;

use std::sync::Arc;

use orderflow_app::Mediator;
use orderflow_app::gateway::GatewayHandlers;
use orderflow_app::orders::OrderHandlers;
use orderflow_app::ports::{EventStore, OrderReadModel, SystemClock};
use orderflow_auth::TokenValidator;

pub use correlation::{CORRELATION_ID_HEADER, CorrelationId};
pub use extract::IDEMPOTENCY_KEY_HEADER;
pub use forward::{Upstream, forwarding_router};
pub use orderflow_app::orders::search::READ_YOUR_WRITES_WAIT;
pub use problem::{PROBLEM_JSON, Problem};
pub use request_metrics::record_request;
pub use router::{REQUEST_TIMEOUT, gateway_router, gateway_routes, orders_router};
pub use routes::openapi::OPENAPI_JSON;
pub use routes::orders::POSITION_HEADER;
pub use routes::search::SEARCH_POSITION_HEADER;
pub use server::{ConnectionLimits, HYPER_MAX_HEADER_BYTES, MAX_HEADER_BYTES, serve};
pub use trace_context::trace_request;
pub use view::{LineView, OrderView};

/// What the orders API runs on. Cheap to clone (every field is shared).
#[derive(Clone)]
pub struct OrdersApi {
    /// Runs the order use cases, searches and rebuilds (the search index is
    /// the handlers' business: `OrderHandlers::with_search`).
    pub mediator: Arc<Mediator<OrderHandlers>>,
    /// Turns bearer tokens into callers.
    pub validator: TokenValidator,
    /// The event store, asked by `/health/ready`.
    pub store: Arc<dyn EventStore>,
}

/// What the API gateway (BFF) runs on: the bus client that sends order
/// commands and its own read model. Cheap to clone.
#[derive(Clone)]
pub struct GatewayApi {
    /// Runs the gateway's requests (submit, get, list).
    pub mediator: Arc<Mediator<GatewayHandlers>>,
    /// Asked by `/health/ready` of a gateway on its own.
    pub read_model: Arc<dyn OrderReadModel>,
    pub validator: TokenValidator,
}

impl std::fmt::Debug for GatewayApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GatewayApi")
            .field("mediator", &self.mediator)
            .finish_non_exhaustive()
    }
}

impl axum::extract::FromRef<GatewayApi> for TokenValidator {
    fn from_ref(api: &GatewayApi) -> TokenValidator {
        api.validator.clone()
    }
}

impl axum::extract::FromRef<OrdersApi> for TokenValidator {
    fn from_ref(api: &OrdersApi) -> TokenValidator {
        api.validator.clone()
    }
}

impl OrdersApi {
    /// The API over `store`, with the order handlers on the system clock.
    pub fn new(store: Arc<dyn EventStore>, validator: TokenValidator) -> Self {
        let handlers = OrderHandlers::new(store.clone(), Arc::new(SystemClock));
        OrdersApi {
            mediator: Arc::new(Mediator::new(handlers)),
            validator,
            store,
        }
    }
}

impl std::fmt::Debug for OrdersApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrdersApi")
            .field("mediator", &self.mediator)
            .field("validator", &self.validator)
            .finish_non_exhaustive()
    }
}
