//! The gateway's read model port: the orders as the API gateway (BFF) shows
//! them, kept from integration events, never from the event store.
//!
//! What every adapter (SQLite embedded, PostgreSQL in server mode) promises,
//! checked by the conformance suite in `orderflow-read-model`:
//!
//! * **Idempotent, order-independent updates.** Integration events arrive
//!   at least once and, with competing consumers, in any order.
//!   [`OrderReadModel::record_created`] fills an order's details (once; a
//!   repeat changes nothing); [`OrderReadModel::record_status`] sets its
//!   status only when its `revision` is above the stored one. A status that
//!   arrives before its order's creation is kept and wins over the creation's
//!   `pending` (revision 0). Applying any set of changes in any order, any
//!   number of times, gives the same row.
//! * **Only complete orders are visible.** An order whose creation has not
//!   arrived yet is found neither by [`OrderReadModel::get`] nor by
//!   [`OrderReadModel::list`].
//! * **Scoped lists.** [`OrderListQuery::buyer`] set → only that buyer's
//!   orders; unset (admins) → all. Newest first (`created_at` descending,
//!   then order id descending), keyset pagination: `after` continues right
//!   after the given order, visiting each order exactly once while none is
//!   added.
//! * **Durable.** Once a call returns `Ok`, the change survives a restart
//!   and every later read sees it.
//! * **Timestamps** are kept to the microsecond.
//!
//! Money is a decimal string in the order's currency, as on the wire; it is
//! never a float.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

/// Why a read model call failed.
#[derive(Debug, thiserror::Error)]
pub enum ReadModelError {
    /// The database cannot be reached now; retry (HTTP 503).
    #[error("read model unavailable: {0}")]
    Unavailable(#[source] crate::error::Cause),
    /// Stored data that does not decode, or a bug.
    #[error("read model failure: {0}")]
    Internal(#[source] crate::error::Cause),
}

/// One line of an order, as the gateway shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GatewayOrderLine {
    pub sku: String,
    pub name: String,
    pub quantity: u32,
    /// Decimal string, e.g. `"12.50"`.
    pub unit_price: String,
    /// Decimal string: quantity × unit price.
    pub line_total: String,
}

/// An order as the gateway's read model holds and shows it
/// (`GET /api/orders/{id}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GatewayOrder {
    pub id: Uuid,
    pub buyer_id: String,
    /// `pending`, `confirmed` or `cancelled`.
    pub status: String,
    /// ISO 4217 code.
    pub currency: String,
    pub items: Vec<GatewayOrderLine>,
    /// Decimal string in the order's currency.
    pub total: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub cancellation_reason: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When the status last changed (`created_at` until then).
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    /// The stream revision of the last change this row reflects.
    pub revision: u64,
}

/// A new order's details, from `OrderCreatedIntegrationEvent`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedOrder {
    pub id: Uuid,
    pub buyer_id: String,
    pub currency: String,
    pub items: Vec<GatewayOrderLine>,
    pub total: String,
    pub created_at: OffsetDateTime,
}

/// A status change, from `OrderConfirmedIntegrationEvent` or
/// `OrderCancelledIntegrationEvent`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusChange {
    pub id: Uuid,
    /// `confirmed` or `cancelled`.
    pub status: String,
    pub cancellation_reason: Option<String>,
    /// The stream revision of the event; a change at or below the stored
    /// revision is ignored.
    pub revision: u64,
    pub at: OffsetDateTime,
}

/// Where a list page continues: right after this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderListCursor {
    pub created_at: OffsetDateTime,
    pub id: Uuid,
}

/// Which orders to list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderListQuery {
    /// Only this buyer's orders; `None` lists every order (admins).
    pub buyer: Option<String>,
    /// At most this many (1..=[`OrderListQuery::MAX_LIMIT`]).
    pub limit: u32,
    /// Continue after this order.
    pub after: Option<OrderListCursor>,
}

impl OrderListQuery {
    pub const DEFAULT_LIMIT: u32 = 50;
    pub const MAX_LIMIT: u32 = 200;
}

/// One page of a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderListPage {
    pub items: Vec<GatewayOrder>,
    /// Where the next page starts; `None` on the last page.
    pub next: Option<OrderListCursor>,
}

/// The gateway's read model.
#[async_trait]
pub trait OrderReadModel: Send + Sync + std::fmt::Debug {
    /// Fills the order's details; its status is `pending` at revision 0
    /// unless a later status is already stored. Idempotent.
    async fn record_created(&self, order: &CreatedOrder) -> Result<(), ReadModelError>;

    /// Sets the status when `change.revision` is above the stored revision.
    /// Idempotent; a change for an order not created yet is kept.
    async fn record_status(&self, change: &StatusChange) -> Result<(), ReadModelError>;

    /// The order, once its creation has been recorded.
    async fn get(&self, id: Uuid) -> Result<Option<GatewayOrder>, ReadModelError>;

    /// A page of orders, newest first.
    async fn list(&self, query: &OrderListQuery) -> Result<OrderListPage, ReadModelError>;

    /// Whether the store answers (for `/health/ready`).
    async fn check(&self) -> Result<(), ReadModelError>;
}
