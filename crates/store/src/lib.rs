//! Event store adapters of orderflow, behind the port
//! [`orderflow_app::ports::EventStore`]:
//!
//! * [`sqlite::SqliteEventStore`] — the embedded default: one SQLite file in
//!   WAL mode, one writer thread doing group commit.
//! * [`postgres::PostgresEventStore`] — server mode: shared by any number of
//!   stateless instances, schema created by migrations, positions assigned in
//!   commit order, LISTEN/NOTIFY wake-ups.
//!
//! Both pass the one conformance suite in `tests/conformance/`.
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod batch;
pub mod postgres;
pub mod sqlite;

pub use postgres::PostgresEventStore;
pub use postgres::lease::PostgresLeases;
pub use sqlite::SqliteEventStore;
