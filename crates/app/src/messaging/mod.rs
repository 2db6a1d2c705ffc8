//! Consuming the message bus: the runner every bus consumer goes through
//! (retry, dead letters, de-duplication) and the de-duplication window it
//! uses.

mod consumer;
mod dedup;

pub use consumer::{Handled, MessageHandler, run_consumer};
pub use dedup::Deduplicator;
