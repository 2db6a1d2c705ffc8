//! Search for orderflow: the adapters of the
//! [`SearchIndex`](orderflow_app::ports::SearchIndex) and
//! [`FreshIndexes`](orderflow_app::ports::FreshIndexes) ports. The projection
//! that fills them and the rebuild that replaces them are application logic:
//! `orderflow_app::projections::search`.
//!
//! * [`TantivySearchIndex`] — the embedded default: tantivy in the data
//!   dir's `search/`, one writer, one commit per batch with its checkpoint.
//! * [`PostgresSearchIndex`] — server mode: one table with plain columns and
//!   a `tsvector`, shared by every instance; [`PostgresGenerations`] rebuilds
//!   it into fresh tables and moves every instance over.
//! * [`TantivyGenerations`], [`PostgresGenerations`] — where a rebuild's
//!   fresh index comes from, and how it is installed.
//!
//! Both adapters pass the one conformance suite in `tests/conformance/`, and
//! match text identically because both take their keywords from [`text`].
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod building;
pub mod postgres;
mod stored;
pub mod tantivy_index;
pub mod text;
mod update;

pub use postgres::PostgresSearchIndex;
pub use postgres::generations::PostgresGenerations;
pub use tantivy_index::TantivySearchIndex;
pub use tantivy_index::generations::TantivyGenerations;
