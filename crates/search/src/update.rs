//! Preparing an [`IndexUpdate`]'s documents, the same way in every adapter.
//!
//! Guarantees: at most one document per order (the highest revision wins),
//! with timestamps truncated to the microsecond, so every adapter stores,
//! sorts and returns the same values.

use std::collections::HashMap;

use orderflow_app::ports::OrderDocument;
use orderflow_app::ports::search::truncate_to_micros;

/// The newest document of each order in `documents`, timestamps truncated.
pub(crate) fn newest_per_order(documents: Vec<OrderDocument>) -> Vec<OrderDocument> {
    let mut newest: HashMap<_, OrderDocument> = HashMap::with_capacity(documents.len());
    for mut document in documents {
        document.created_at = truncate_to_micros(document.created_at);
        document.updated_at = truncate_to_micros(document.updated_at);
        match newest.get(&document.order_id) {
            Some(known) if known.revision >= document.revision => {}
            _ => {
                newest.insert(document.order_id, document);
            }
        }
    }
    newest.into_values().collect()
}
