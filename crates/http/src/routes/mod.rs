//! The handlers of the orders router: orders and health.

pub(crate) mod health;
pub(crate) mod orders;
