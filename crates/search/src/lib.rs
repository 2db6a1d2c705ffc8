//! Search for orderflow: the adapters of the
//! [`SearchIndex`](orderflow_app::ports::SearchIndex) port and the projection
//! that fills them from the event store.
//!
//! * [`TantivySearchIndex`] — the embedded default: tantivy in the data
//!   dir's `search/`, one writer, one commit per batch with its checkpoint.
//! * [`PostgresSearchIndex`] — server mode: one table with plain columns and
//!   a `tsvector`, shared by every instance; [`PostgresGenerations`] rebuilds
//!   it into fresh tables and moves every instance over.
//! * [`SearchProjection`] — folds order events into documents, idempotent by
//!   stream revision; [`subscribe`] opens it with its subscription.
//! * [`rebuild`] — re-creates the index from the event store into a fresh
//!   index and swaps it in while searches keep being answered.
//!
//! Both adapters pass the one conformance suite in `tests/conformance/`, and
//! match text identically because both take their keywords from [`text`].
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod checkpoints;
pub mod postgres;
mod projection;
pub mod rebuild;
mod stored;
pub mod tantivy_index;
pub mod text;
mod update;

pub use checkpoints::IndexCheckpoints;
pub use postgres::PostgresSearchIndex;
pub use postgres::generations::PostgresGenerations;
pub use projection::{
    SEARCH_BATCH_SIZE, SEARCH_COMMIT_INTERVAL, SEARCH_PROJECTION, SearchProjection, subscribe,
    subscription_config,
};
pub use tantivy_index::TantivySearchIndex;
pub use tantivy_index::generations::TantivyGenerations;
