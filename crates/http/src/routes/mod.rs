//! The handlers of the orders router (orders, search, health) and of the gateway.

pub(crate) mod admin;
pub(crate) mod gateway;
pub(crate) mod health;
pub(crate) mod openapi;
pub(crate) mod orders;
pub(crate) mod search;
