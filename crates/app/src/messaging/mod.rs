//! Consuming the message bus: the one runner every bus consumer goes through (retry,
//! ordered starts and concurrent finishes, dead letters, de-duplication), its handlers in
//! one step ([`MessageHandler`]) or two ([`StagedHandler`]), and the de-duplication window
//! it uses.

mod consumer;
mod dedup;
mod runner;
mod seen;
mod staged;

pub use consumer::{MessageHandler, run_consumer};
pub use dedup::Deduplicator;
pub use runner::run_staged_consumer;
pub use staged::{Afterwards, Finished, Handled, Received, StagedHandler};
