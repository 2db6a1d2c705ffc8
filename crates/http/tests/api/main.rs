//! The orders API end to end: a real listener on port 0, the dev issuer on the same listener,
//! tokens by the real password grant, a real event store (SQLite; PostgreSQL in `postgres`).
#![allow(clippy::unwrap_used)]

mod authorization;
mod bad_bodies;
mod bad_tokens;
mod conflicts;
mod connections;
mod idempotency;
mod logs;
mod openapi;
mod orders;
mod postgres;
mod routing;
mod support;
