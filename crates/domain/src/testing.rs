//! Test support: a given-events / when-command / then-events harness and fixtures.
//!
//! Compiled for this crate's tests and, with the `testing` feature, for other crates' tests.
//! Guarantees: [`given`] folds the history with the real [`fold`], [`Given::when`] runs the real
//! [`decide`] at the fixed instant [`NOW`], and the events it yields are folded too, so an
//! event that does not fit its state fails the test (through `evolve`'s debug assertions).
//!
//! ```
//! # use orderflow_domain::testing::*;
//! # use orderflow_domain::*;
//! let id = order_id(1);
//! given(created(id, "alice"))
//!     .when(ConfirmOrder { order_id: id })
//!     .then([OrderEvent::OrderConfirmed { order_id: id, confirmed_at: NOW }]);
//! ```

use time::OffsetDateTime;
use time::macros::datetime;
use uuid::Uuid;

use crate::command::{CreateOrder, OrderCommand, RawLine, RawOrder};
use crate::error::OrderError;
use crate::event::OrderEvent;
use crate::ids::{OrderId, UserId};
use crate::order::{Order, decide, fold};

/// The instant [`Given::when`] decides at.
pub const NOW: OffsetDateTime = datetime!(2026-01-02 03:04:05 UTC);

/// A fixed order id; different `n` give different ids (`n = 0` is allowed).
pub fn order_id(n: u64) -> OrderId {
    let uuid = Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0000 | u128::from(n));
    OrderId::from_uuid(uuid).expect("never the nil uuid")
}

/// A user id.
pub fn user(name: &str) -> UserId {
    UserId::parse(name).expect("fixture user ids are valid")
}

/// One raw line `{sku, "Item <sku>", quantity, unit_price}`.
pub fn raw_line(sku: &str, quantity: i64, unit_price: &str) -> RawLine {
    RawLine {
        sku: sku.to_owned(),
        name: format!("Item {sku}"),
        quantity,
        unit_price: unit_price.to_owned(),
    }
}

/// A raw order in `currency`.
pub fn raw_order(currency: &str, items: Vec<RawLine>) -> RawOrder {
    RawOrder {
        currency: currency.to_owned(),
        items,
    }
}

/// A valid create command: two coffees at 12.50 EUR and one tea at 3.00 EUR.
pub fn create_order(order_id: OrderId, buyer: &str) -> CreateOrder {
    let raw = raw_order(
        "EUR",
        vec![raw_line("COFFEE-1", 2, "12.50"), raw_line("TEA-1", 1, "3")],
    );
    CreateOrder::parse(order_id, user(buyer), raw).expect("the fixture order is valid")
}

/// The events of [`create_order`] decided at [`NOW`].
pub fn created(order_id: OrderId, buyer: &str) -> Vec<OrderEvent> {
    let command = OrderCommand::Create(create_order(order_id, buyer));
    decide(None, &command, NOW).expect("creating a new order succeeds")
}

/// Starts a scenario from the events already in the stream.
pub fn given(history: impl IntoIterator<Item = OrderEvent>) -> Given {
    Given {
        history: history.into_iter().collect(),
    }
}

/// A scenario's history.
#[derive(Debug)]
pub struct Given {
    history: Vec<OrderEvent>,
}

impl Given {
    /// Decides `command` at [`NOW`].
    pub fn when(self, command: impl Into<OrderCommand>) -> Then {
        self.when_at(command, NOW)
    }

    /// Decides `command` at `now`.
    pub fn when_at(self, command: impl Into<OrderCommand>, now: OffsetDateTime) -> Then {
        let state = fold(&self.history);
        let result = decide(state.as_ref(), &command.into(), now);
        if let Ok(events) = &result {
            // Folding the new events must work too (evolve debug-asserts on misfits).
            let _: Option<Order> = fold(self.history.iter().chain(events));
        }
        Then { result }
    }
}

/// A scenario's outcome.
#[derive(Debug)]
pub struct Then {
    result: Result<Vec<OrderEvent>, OrderError>,
}

impl Then {
    /// Asserts the command yielded exactly `expected`.
    #[track_caller]
    pub fn then(self, expected: impl Into<Vec<OrderEvent>>) {
        assert_eq!(self.result, Ok(expected.into()));
    }

    /// Asserts the command was accepted and yielded no event.
    #[track_caller]
    pub fn then_nothing(self) {
        assert_eq!(self.result, Ok(Vec::new()));
    }

    /// Asserts the command was refused with exactly `expected`.
    #[track_caller]
    pub fn then_error(self, expected: OrderError) {
        assert_eq!(self.result, Err(expected));
    }

    /// Asserts the command was refused with an error `check` accepts (e.g. a `matches!`).
    #[track_caller]
    pub fn then_error_matching(self, check: impl FnOnce(&OrderError) -> bool) {
        match &self.result {
            Err(error) if check(error) => {}
            other => panic!("unexpected outcome: {other:?}"),
        }
    }

    /// The raw outcome, for assertions of your own.
    pub fn result(self) -> Result<Vec<OrderEvent>, OrderError> {
        self.result
    }
}
