//! Commands to the Order aggregate.
//!
//! Guarantees: a command holds only valid values (ids, currency, lines); [`CreateOrder::parse`]
//! builds one from a raw request and reports *every* invalid field at once. `decide` re-checks
//! the cross-field rules (line count, currency, total) anyway, because the fields are public.
//! Who may send a command (buyer, admin) is the application's concern, not this module's.

mod raw;
#[cfg(test)]
mod tests;

use crate::currency::Currency;
use crate::ids::{OrderId, UserId};
use crate::line::OrderLine;

pub(crate) use raw::check_line_count;
pub use raw::check_reason;
pub use raw::{RawLine, RawOrder};

/// Fewest lines an order may have.
pub const MIN_LINES: usize = 1;
/// Most lines an order may have.
pub const MAX_LINES: usize = 100;
/// Longest cancellation reason, in characters.
pub const MAX_REASON_CHARS: usize = 500;

/// Place a new order. Build it with [`CreateOrder::parse`]; `decide` re-checks it anyway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateOrder {
    /// The id the caller minted for the new order.
    pub order_id: OrderId,
    /// The buyer (the token's `sub`); subscribed to the order on creation.
    pub buyer_id: UserId,
    /// The currency of every price.
    pub currency: Currency,
    /// 1..=100 lines priced in `currency`.
    pub lines: Vec<OrderLine>,
}

/// Confirm a pending order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfirmOrder {
    /// The order.
    pub order_id: OrderId,
}

/// Cancel a pending order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CancelOrder {
    /// The order.
    pub order_id: OrderId,
    /// Why, at most 500 characters.
    pub reason: Option<String>,
}

/// Subscribe a user to the order's updates (a no-op if already subscribed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddSubscription {
    /// The order.
    pub order_id: OrderId,
    /// Who wants updates.
    pub subscriber_id: UserId,
}

/// Every command the Order aggregate decides on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderCommand {
    /// See [`CreateOrder`].
    Create(CreateOrder),
    /// See [`ConfirmOrder`].
    Confirm(ConfirmOrder),
    /// See [`CancelOrder`].
    Cancel(CancelOrder),
    /// See [`AddSubscription`].
    AddSubscription(AddSubscription),
}

impl OrderCommand {
    /// The order the command is about.
    pub fn order_id(&self) -> OrderId {
        match self {
            Self::Create(command) => command.order_id,
            Self::Confirm(command) => command.order_id,
            Self::Cancel(command) => command.order_id,
            Self::AddSubscription(command) => command.order_id,
        }
    }
}

impl From<CreateOrder> for OrderCommand {
    fn from(command: CreateOrder) -> Self {
        Self::Create(command)
    }
}

impl From<ConfirmOrder> for OrderCommand {
    fn from(command: ConfirmOrder) -> Self {
        Self::Confirm(command)
    }
}

impl From<CancelOrder> for OrderCommand {
    fn from(command: CancelOrder) -> Self {
        Self::Cancel(command)
    }
}

impl From<AddSubscription> for OrderCommand {
    fn from(command: AddSubscription) -> Self {
        Self::AddSubscription(command)
    }
}
