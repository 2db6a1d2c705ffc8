//! The stored form of an [`OrderDocument`]: one JSON body, kept whole by
//! every adapter next to the columns or fields it filters on.
//!
//! Guarantees: [`encode`] never fails; [`decode`] reads back an equal
//! document and validates every value on the way in (the index is data from
//! outside the process: a bad body is [`SearchError::Corrupt`], never a
//! panic). Timestamps are RFC 3339 in UTC.

use std::collections::BTreeSet;

use orderflow_app::ports::{OrderDocument, SearchError};
use orderflow_domain::{
    Currency, ItemName, Money, OrderId, OrderLine, OrderStatus, Quantity, Sku, UserId,
};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StoredDocument {
    order_id: OrderId,
    buyer_id: UserId,
    status: OrderStatus,
    currency: Currency,
    lines: Vec<StoredLine>,
    total_minor: i64,
    subscriber_ids: BTreeSet<UserId>,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    updated_at: OffsetDateTime,
    revision: u64,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StoredLine {
    sku: Sku,
    name: ItemName,
    quantity: Quantity,
    unit_price_minor: i64,
}

/// The JSON text of `document`.
pub(crate) fn encode(document: &OrderDocument) -> String {
    let stored = StoredDocument {
        order_id: document.order_id,
        buyer_id: document.buyer_id.clone(),
        status: document.status,
        currency: document.currency(),
        lines: document
            .lines
            .iter()
            .map(|line| StoredLine {
                sku: line.sku.clone(),
                name: line.name.clone(),
                quantity: line.quantity,
                unit_price_minor: line.unit_price.minor_units(),
            })
            .collect(),
        total_minor: document.total_minor_units(),
        subscriber_ids: document.subscriber_ids.clone(),
        created_at: document.created_at,
        updated_at: document.updated_at,
        revision: document.revision,
    };
    // Serialising plain structs of strings and numbers cannot fail.
    serde_json::to_string(&stored).unwrap_or_default()
}

/// Reads a body written by [`encode`].
pub(crate) fn decode(json: &[u8]) -> Result<OrderDocument, SearchError> {
    let stored: StoredDocument =
        serde_json::from_slice(json).map_err(|error| SearchError::Corrupt(Box::new(error)))?;
    let money = |minor_units| {
        Money::from_minor_units(minor_units, stored.currency).map_err(|error| {
            SearchError::Corrupt(format!("stored amount {minor_units}: {error}").into())
        })
    };
    let lines = stored
        .lines
        .into_iter()
        .map(|line| {
            let minor_units = line.unit_price_minor;
            OrderLine::from_minor_units(
                line.sku,
                line.name,
                line.quantity,
                minor_units,
                stored.currency,
            )
            .map_err(|error| {
                SearchError::Corrupt(format!("stored amount {minor_units}: {error}").into())
            })
        })
        .collect::<Result<Vec<_>, SearchError>>()?;
    Ok(OrderDocument {
        order_id: stored.order_id,
        buyer_id: stored.buyer_id,
        status: stored.status,
        lines,
        total: money(stored.total_minor)?,
        subscriber_ids: stored.subscriber_ids,
        created_at: stored.created_at,
        updated_at: stored.updated_at,
        revision: stored.revision,
    })
}

#[cfg(test)]
mod tests {
    use orderflow_domain::testing::{NOW, create_order, order_id, user};

    use super::*;

    #[test]
    fn a_document_reads_back_equal() {
        let order = create_order(order_id(7), "alice");
        let total = Money::from_minor_units(2_800, Currency::parse("EUR").unwrap()).unwrap();
        let document = OrderDocument {
            order_id: order.order_id,
            buyer_id: user("alice"),
            status: OrderStatus::Confirmed,
            lines: order.lines.clone(),
            total,
            subscriber_ids: [user("alice"), user("bob")].into(),
            created_at: NOW,
            updated_at: NOW + time::Duration::seconds(3),
            revision: 2,
        };
        let json = encode(&document);
        assert_eq!(decode(json.as_bytes()).unwrap(), document);
    }

    #[test]
    fn a_bad_body_is_corrupt_data_not_a_panic() {
        let error = decode(br#"{"orderId":"nope"}"#).unwrap_err();
        assert!(matches!(error, SearchError::Corrupt(_)));
    }
}
