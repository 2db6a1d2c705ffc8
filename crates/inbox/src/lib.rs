//! The users' durable push inbox, behind the port [`orderflow_app::ports::PushInbox`]:
//!
//! * [`SqliteInbox`] — embedded (`orderflow up`): one SQLite file in the data dir, written by
//!   one writer thread doing group commit, every commit fsynced, read through a pool of
//!   read-only connections (the `orderflow-sqlite` plumbing the read model uses).
//! * [`PostgresInbox`] — server mode: one table (`push_inbox`) shared by every hub instance,
//!   created by its own migrations.
//!
//! Both keep the port's promises (idempotent by (user, message id), in order, acknowledged
//! is final, bounded per user by count and age, shared, durable) and pass the one conformance
//! suite in `tests/conformance/`. What they share — entry states, the age cut-off, time to
//! the microsecond — lives in [`stored`], so the two cannot drift apart.
//!
//! Scale: one row per (push, subscriber), found by the partial index
//! `(user_id, seq) WHERE state = pending`; the count bound is applied per user as pushes are
//! recorded, and [`orderflow_app::ports::PushInbox::prune`] deletes rows past the age bound
//! (by the `recorded_at` index).
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod error;
pub mod postgres;
pub mod sqlite;
mod stored;

pub use error::OpenError;
pub use postgres::PostgresInbox;
pub use sqlite::SqliteInbox;
pub use stored::SharedClock;
