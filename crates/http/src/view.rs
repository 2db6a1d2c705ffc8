//! The order as the API shows it.
//!
//! Guarantees: money is always a decimal string in the order's currency (`"25.00"`), never a
//! float; timestamps are RFC 3339; field names are camelCase:
//! `{ id, status, buyerId, currency, items: [{ sku, name, quantity, unitPrice, lineTotal }],
//! total, subscribers, cancellationReason?, createdAt, updatedAt, version }`.

use orderflow_app::AppError;
use orderflow_app::ports::OrderDocument;
use orderflow_domain::{Order, OrderLine};
use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// One order, ready to be sent as JSON.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderView {
    pub id: String,
    pub status: &'static str,
    pub buyer_id: String,
    pub currency: &'static str,
    pub items: Vec<LineView>,
    pub total: String,
    pub subscribers: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cancellation_reason: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub version: u64,
}

/// One line of an order.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LineView {
    pub sku: String,
    pub name: String,
    pub quantity: u32,
    pub unit_price: String,
    pub line_total: String,
}

impl OrderView {
    /// The view of `order`. Fails only on data the domain never produces (a line total that
    /// overflows, a date that does not format), as an internal error.
    pub fn of(order: &Order) -> Result<OrderView, AppError> {
        Ok(OrderView {
            id: order.id().to_string(),
            status: order.status().as_str(),
            buyer_id: order.buyer_id().to_string(),
            currency: order.currency().code(),
            items: order
                .lines()
                .iter()
                .map(LineView::of)
                .collect::<Result<_, _>>()?,
            total: order.total().format(),
            subscribers: order
                .subscribers()
                .iter()
                .map(ToString::to_string)
                .collect(),
            cancellation_reason: order.cancellation_reason().map(str::to_owned),
            created_at: rfc3339(order.created_at())?,
            updated_at: rfc3339(order.updated_at())?,
            version: order.version(),
        })
    }
}

impl OrderView {
    /// The view of a search result (the index keeps no cancellation reason).
    pub fn of_document(document: &OrderDocument) -> Result<OrderView, AppError> {
        Ok(OrderView {
            id: document.order_id.to_string(),
            status: document.status.as_str(),
            buyer_id: document.buyer_id.to_string(),
            currency: document.currency().code(),
            items: document
                .lines
                .iter()
                .map(LineView::of)
                .collect::<Result<_, _>>()?,
            total: document.total.format(),
            subscribers: document
                .subscriber_ids
                .iter()
                .map(ToString::to_string)
                .collect(),
            cancellation_reason: None,
            created_at: rfc3339(document.created_at)?,
            updated_at: rfc3339(document.updated_at)?,
            version: document.revision + 1,
        })
    }
}

impl LineView {
    fn of(line: &OrderLine) -> Result<LineView, AppError> {
        let line_total = line
            .line_total()
            .map_err(|error| AppError::internal(format!("stored line total: {error}")))?;
        Ok(LineView {
            sku: line.sku.as_str().to_owned(),
            name: line.name.as_str().to_owned(),
            quantity: line.quantity.get(),
            unit_price: line.unit_price.format(),
            line_total: line_total.format(),
        })
    }
}

fn rfc3339(at: OffsetDateTime) -> Result<String, AppError> {
    at.format(&Rfc3339)
        .map_err(|error| AppError::internal(format!("timestamp does not format: {error}")))
}
