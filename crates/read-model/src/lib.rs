//! The gateway's order read model, behind the port
//! [`orderflow_app::ports::OrderReadModel`]:
//!
//! * [`SqliteReadModel`] — the embedded default: one SQLite file in WAL mode,
//!   one writer thread doing group commit, every commit fsynced.
//! * [`PostgresReadModel`] — server mode: one table (`gateway_orders`) shared
//!   by any number of stateless instances, created by its own migrations.
//!
//! Both keep the port's promises (idempotent, order-independent updates;
//! only complete orders visible; scoped newest-first keyset pages; durable
//! once `Ok`; microsecond timestamps) and pass the one conformance suite in
//! `tests/conformance/`. The rules they share — what a stored row must hold
//! to be shown, how pages are cut, how time is truncated — live in
//! [`stored`], so the two cannot drift apart.
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod error;
pub mod postgres;
pub mod sqlite;
mod stored;

pub use error::OpenError;
pub use postgres::PostgresReadModel;
pub use sqlite::SqliteReadModel;
