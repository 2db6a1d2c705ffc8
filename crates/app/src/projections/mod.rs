//! Projections: read models derived from the event store by catch-up
//! subscriptions. Each one owns its handler, its checkpoint rule and the
//! loop that drives it.
//!
//! * [`search`] — the search index behind `GET /orders`, rebuilt while it
//!   answers.

pub mod search;
