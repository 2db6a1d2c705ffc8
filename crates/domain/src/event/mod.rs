//! Events of the Order aggregate, and their stored form.
//!
//! Guarantees: an [`OrderEvent`] is a fact about one order built from valid values only.
//! Its stored form is a type name ([`OrderEvent::event_type`]), a schema version
//! ([`OrderEvent::schema_version`]) and a JSON body ([`OrderEvent::to_json`]): camelCase
//! fields, money as integer minor units plus the order's currency code (never floats),
//! timestamps as RFC 3339 in UTC. [`OrderEvent::decode`] reads any version this code knows:
//! it first runs the upcaster chain (see [`upcast`]) that lifts an old body step by step to
//! the current version, then deserializes and validates it. Every event type is at version 1
//! today, so the production upcaster table [`UPCASTERS`] is empty.

mod stored;
mod upcast;

use time::OffsetDateTime;

use crate::currency::Currency;
use crate::ids::{OrderId, UserId};
use crate::line::OrderLine;
use crate::money::Money;

pub use stored::EventDecodeError;
pub use upcast::{UPCASTERS, UpcastFn, Upcaster, upcast};

/// Something that happened to an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderEvent {
    /// The order was placed. Always followed by `OrderSubscriptionAdded` for the buyer.
    OrderCreated {
        /// The order.
        order_id: OrderId,
        /// Who placed it.
        buyer_id: UserId,
        /// The currency of every amount in the order.
        currency: Currency,
        /// What was ordered.
        lines: Vec<OrderLine>,
        /// Sum of `quantity × unit_price` over the lines.
        total: Money,
        /// When the order was placed.
        created_at: OffsetDateTime,
    },
    /// A user now follows the order's updates.
    OrderSubscriptionAdded {
        /// The order.
        order_id: OrderId,
        /// Who follows it.
        subscriber_id: UserId,
    },
    /// The order was confirmed.
    OrderConfirmed {
        /// The order.
        order_id: OrderId,
        /// When.
        confirmed_at: OffsetDateTime,
    },
    /// The order was cancelled.
    OrderCancelled {
        /// The order.
        order_id: OrderId,
        /// Why, if given.
        reason: Option<String>,
        /// When.
        cancelled_at: OffsetDateTime,
    },
}

impl OrderEvent {
    /// The order the event is about.
    pub fn order_id(&self) -> OrderId {
        match self {
            Self::OrderCreated { order_id, .. }
            | Self::OrderSubscriptionAdded { order_id, .. }
            | Self::OrderConfirmed { order_id, .. }
            | Self::OrderCancelled { order_id, .. } => *order_id,
        }
    }
}
