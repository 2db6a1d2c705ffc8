//! The Order aggregate of orderflow: validated value types, commands, events, `decide` and
//! `evolve`.
//!
//! Guarantees: the crate is pure and synchronous. It does no I/O, never reads the clock and
//! never mints ids: the caller passes `now` and the ids. Only valid values can be built
//! (every value type has a `parse` constructor and validates again when deserialized), money
//! is whole minor units and never a float, and every refusal is a typed error.
//!
//! - values: [`OrderId`], [`UserId`], [`Sku`], [`ItemName`], [`Quantity`], [`Currency`], [`Money`]
//! - input: [`RawOrder`] → [`CreateOrder::parse`] → [`CreateOrder`] or [`ValidationErrors`]
//! - rules: [`decide`] (state, command, now) → events or [`OrderError`]
//! - state: [`evolve`] / [`fold`] events → [`Order`]
//! - storage: [`OrderEvent::event_type`], [`OrderEvent::schema_version`],
//!   [`OrderEvent::to_json`], [`OrderEvent::decode`] (through the upcaster chain)
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod command;
mod currency;
mod error;
mod event;
mod ids;
mod line;
mod money;
mod order;
mod text;
mod validation;

#[cfg(any(test, feature = "fuzzing"))]
#[doc(hidden)]
pub mod fuzzing;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use command::{
    AddSubscription, CancelOrder, ConfirmOrder, CreateOrder, MAX_LINES, MAX_REASON_CHARS,
    MIN_LINES, OrderCommand, RawLine, RawOrder, check_reason,
};
pub use currency::{Currency, CurrencyError};
pub use error::{ErrorKind, OrderError};
pub use event::{EventDecodeError, OrderEvent, UPCASTERS, UpcastFn, Upcaster, upcast};
pub use ids::{OrderId, OrderIdError, UserId, UserIdError};
pub use line::{ItemName, ItemNameError, OrderLine, Quantity, QuantityError, Sku, SkuError};
pub use money::{Money, MoneyError};
pub use order::{
    MAX_SUBSCRIBER_ID_CHARS, MAX_SUBSCRIBERS, Order, OrderStatus, decide, evolve, fold,
};
pub use text::{FreeText, TextError};
pub use validation::{FieldError, ValidationErrors};
