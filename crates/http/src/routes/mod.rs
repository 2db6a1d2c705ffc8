//! The handlers of the orders router: orders, search and health.

pub(crate) mod health;
pub(crate) mod orders;
pub(crate) mod search;
