//! The Order aggregate: its state, [`evolve`] and [`fold`] (here) and [`decide`] (in `decide.rs`).
//!
//! Guarantees: everything is pure and synchronous; the caller passes the clock (`now`) and the
//! ids. [`evolve`] is total and never panics in release builds: an event that does not fit the
//! state (a second `OrderCreated`, confirming a cancelled order, another order's event) is
//! ignored, and trips a `debug_assert!` in debug builds. [`Order::version`] counts every event
//! folded, ignored ones included, so it always equals the length of the stream it came from.

mod decide;
#[cfg(test)]
mod free_text_tests;
#[cfg(test)]
mod subscription_tests;
mod subscriptions;
#[cfg(test)]
mod tests;

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::currency::Currency;
use crate::event::OrderEvent;
use crate::ids::{OrderId, UserId};
use crate::line::OrderLine;
use crate::money::Money;

pub use decide::decide;
pub use subscriptions::{MAX_SUBSCRIBER_ID_CHARS, MAX_SUBSCRIBERS};

/// Where an order is in its life: `pending` until confirmed or cancelled, both final.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OrderStatus {
    /// Placed, neither confirmed nor cancelled.
    Pending,
    /// Confirmed by an admin.
    Confirmed,
    /// Cancelled.
    Cancelled,
}

impl OrderStatus {
    /// `"pending"`, `"confirmed"` or `"cancelled"`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Confirmed => "confirmed",
            Self::Cancelled => "cancelled",
        }
    }

    /// The status named by [`OrderStatus::as_str`], if any (e.g. a `?status=` query).
    pub fn parse(text: &str) -> Option<OrderStatus> {
        [Self::Pending, Self::Confirmed, Self::Cancelled]
            .into_iter()
            .find(|status| status.as_str() == text)
    }
}

impl fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The state of an order, as folded from its events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    id: OrderId,
    buyer_id: UserId,
    currency: Currency,
    lines: Vec<OrderLine>,
    total: Money,
    status: OrderStatus,
    cancellation_reason: Option<String>,
    subscribers: BTreeSet<UserId>,
    created_at: OffsetDateTime,
    updated_at: OffsetDateTime,
    version: u64,
}

impl Order {
    /// The order's id.
    pub fn id(&self) -> OrderId {
        self.id
    }

    /// Who placed it.
    pub fn buyer_id(&self) -> &UserId {
        &self.buyer_id
    }

    /// The currency of every amount.
    pub fn currency(&self) -> Currency {
        self.currency
    }

    /// What was ordered.
    pub fn lines(&self) -> &[OrderLine] {
        &self.lines
    }

    /// Sum of the line totals.
    pub fn total(&self) -> Money {
        self.total
    }

    /// Where the order is in its life.
    pub fn status(&self) -> OrderStatus {
        self.status
    }

    /// The reason given when it was cancelled, if any.
    pub fn cancellation_reason(&self) -> Option<&str> {
        self.cancellation_reason.as_deref()
    }

    /// Everyone who gets the order's updates (the buyer included).
    pub fn subscribers(&self) -> &BTreeSet<UserId> {
        &self.subscribers
    }

    /// Whether `user` gets the order's updates.
    pub fn is_subscribed(&self, user: &UserId) -> bool {
        self.subscribers.contains(user)
    }

    /// When it was placed.
    pub fn created_at(&self) -> OffsetDateTime {
        self.created_at
    }

    /// When its status last changed (its creation time until then).
    pub fn updated_at(&self) -> OffsetDateTime {
        self.updated_at
    }

    /// Number of events folded into this state: the revision count of the order's stream.
    pub fn version(&self) -> u64 {
        self.version
    }

    fn apply(mut self, event: &OrderEvent) -> Order {
        self.version += 1;
        let own_event = event.order_id() == self.id;
        debug_assert!(
            own_event,
            "event of order {} in order {}",
            event.order_id(),
            self.id
        );
        if !own_event {
            return self;
        }
        match event {
            OrderEvent::OrderCreated { .. } => {
                debug_assert!(false, "order {} created twice", self.id);
            }
            OrderEvent::OrderSubscriptionAdded { subscriber_id, .. } => {
                self.subscribers.insert(subscriber_id.clone());
            }
            OrderEvent::OrderConfirmed { confirmed_at, .. } => {
                if self.leave_pending(OrderStatus::Confirmed) {
                    self.updated_at = *confirmed_at;
                }
            }
            OrderEvent::OrderCancelled {
                reason,
                cancelled_at,
                ..
            } => {
                if self.leave_pending(OrderStatus::Cancelled) {
                    self.cancellation_reason = reason.clone();
                    self.updated_at = *cancelled_at;
                }
            }
        }
        self
    }

    /// Moves a pending order to `to`; refuses (returning `false`) from any other status.
    fn leave_pending(&mut self, to: OrderStatus) -> bool {
        let pending = self.status == OrderStatus::Pending;
        debug_assert!(
            pending,
            "order {} became {to} while {}",
            self.id, self.status
        );
        if pending {
            self.status = to;
        }
        pending
    }
}

/// Applies one event to the state. Total: an event that does not fit is ignored (and
/// `debug_assert!`s).
pub fn evolve(state: Option<Order>, event: &OrderEvent) -> Option<Order> {
    match (state, event) {
        (Some(order), event) => Some(order.apply(event)),
        (
            None,
            OrderEvent::OrderCreated {
                order_id,
                buyer_id,
                currency,
                lines,
                total,
                created_at,
            },
        ) => Some(Order {
            id: *order_id,
            buyer_id: buyer_id.clone(),
            currency: *currency,
            lines: lines.clone(),
            total: *total,
            status: OrderStatus::Pending,
            cancellation_reason: None,
            subscribers: BTreeSet::new(),
            created_at: *created_at,
            updated_at: *created_at,
            version: 1,
        }),
        (None, event) => {
            debug_assert!(false, "{} before OrderCreated", event.event_type());
            None
        }
    }
}

/// The state after all `events`, in order; `None` if there were none.
pub fn fold<'a>(events: impl IntoIterator<Item = &'a OrderEvent>) -> Option<Order> {
    events.into_iter().fold(None, evolve)
}
