//! The tantivy schema of the order index, and how a document maps onto it.
//!
//! Guarantees: every field the adapter filters, sorts or guards on is
//! derived from the document by [`to_tantivy`] alone, so the index can always
//! be rebuilt from the stored JSON. Text is never tokenised by tantivy:
//! keywords come pre-tokenised from [`crate::text`] into a raw field, so the
//! tantivy and PostgreSQL adapters match exactly the same words.

use orderflow_app::ports::OrderDocument;
use orderflow_app::ports::search::unix_micros;
use tantivy::schema::{FAST, Field, INDEXED, STORED, STRING, Schema};
use tantivy::{TantivyDocument, Term};
use uuid::Uuid;

use crate::stored;
use crate::text::keywords;

/// Fast field: `created_at` in microseconds since the Unix epoch.
pub(super) const CREATED_AT: &str = "created_at";
/// Fast fields: the order id's UUID as two big-endian halves, the sort's
/// tiebreak (the same order as PostgreSQL's `uuid` comparison).
pub(super) const ID_HIGH: &str = "id_high";
pub(super) const ID_LOW: &str = "id_low";
/// Fast field: the stream revision the document reflects.
pub(super) const REVISION: &str = "revision";

/// The fields of the schema.
#[derive(Debug, Clone, Copy)]
pub(super) struct Fields {
    /// Raw hyphenated id: updates delete by it, `get` looks it up.
    pub(super) order_id: Field,
    pub(super) buyer_id: Field,
    pub(super) status: Field,
    /// Raw lowercase keywords (see [`crate::text`]), many per document.
    pub(super) keywords: Field,
    pub(super) created_at: Field,
    pub(super) id_high: Field,
    pub(super) id_low: Field,
    pub(super) revision: Field,
    /// The whole document as JSON ([`crate::stored`]).
    pub(super) document: Field,
}

pub(super) fn schema() -> (Schema, Fields) {
    let mut builder = Schema::builder();
    let fields = Fields {
        order_id: builder.add_text_field("order_id", STRING),
        buyer_id: builder.add_text_field("buyer_id", STRING),
        status: builder.add_text_field("status", STRING),
        keywords: builder.add_text_field("keywords", STRING),
        created_at: builder.add_i64_field(CREATED_AT, INDEXED | FAST),
        id_high: builder.add_u64_field(ID_HIGH, FAST),
        id_low: builder.add_u64_field(ID_LOW, FAST),
        revision: builder.add_u64_field(REVISION, FAST),
        document: builder.add_bytes_field("document", STORED),
    };
    (builder.build(), fields)
}

impl Fields {
    pub(super) fn order_id_term(&self, order_id: &str) -> Term {
        Term::from_field_text(self.order_id, order_id)
    }

    pub(super) fn tantivy_document(&self, document: &OrderDocument) -> TantivyDocument {
        let (high, low) = uuid_halves(document.order_id.as_uuid());
        let mut doc = TantivyDocument::new();
        doc.add_text(self.order_id, document.order_id.to_string());
        doc.add_text(self.buyer_id, document.buyer_id.as_str());
        doc.add_text(self.status, document.status.as_str());
        for keyword in keywords(document) {
            doc.add_text(self.keywords, keyword);
        }
        doc.add_i64(self.created_at, unix_micros(document.created_at));
        doc.add_u64(self.id_high, high);
        doc.add_u64(self.id_low, low);
        doc.add_u64(self.revision, document.revision);
        doc.add_bytes(self.document, stored::encode(document).as_bytes());
        doc
    }
}

/// The UUID's 16 bytes as two big-endian `u64`s: comparing the pairs
/// compares the UUIDs byte by byte.
pub(super) fn uuid_halves(uuid: Uuid) -> (u64, u64) {
    let value = uuid.as_u128();
    ((value >> 64) as u64, value as u64)
}
