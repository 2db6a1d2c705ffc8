//! The order use cases: place, confirm, cancel, subscribe, read, search.
//!
//! Each write loads the order's stream, folds it, asks the domain to
//! [`decide`](orderflow_domain::decide), and appends the new events with the
//! revision it loaded, so a concurrent change is detected, never overwritten.
//! A lost race is retried from a fresh load a few times before it becomes a
//! 409. Every write answers with the global position of its last event
//! (read-your-writes for the projections that follow).

mod handlers;
mod repository;
mod requests;
pub mod search;
pub mod visibility;

pub use handlers::OrderHandlers;
pub use repository::to_new_event;
pub(crate) use requests::buyers_only;
pub use requests::{
    CancelOrderRequest, ConfirmOrderRequest, GetOrderRequest, PlaceOrderRequest,
    SubscribeToOrderRequest,
};

use orderflow_domain::Order;

use crate::ports::Position;

/// An order after a write, with the position of the write's last event
/// (`None` when the request changed nothing, e.g. subscribing twice).
#[derive(Debug, Clone)]
pub struct OrderChange {
    pub order: Order,
    pub position: Option<Position>,
}
