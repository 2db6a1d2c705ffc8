//! Order lines and their value types: [`Sku`], [`ItemName`], [`Quantity`], [`OrderLine`].
//!
//! Guarantees: a `Sku` is 1..=64 characters of `[A-Za-z0-9._-]`; an `ItemName` is free text
//! of 1..=200 characters (not bytes) by the one rule of [`crate::text`] (trimmed, something
//! visible, no control or bidirectional formatting characters); a `Quantity` is 1..=10_000;
//! line and order totals are computed with checked arithmetic and report overflow.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::currency::Currency;
use crate::error::OrderError;
use crate::money::{Money, MoneyError};
use crate::text::{FreeText, TextError};

/// A stock keeping unit, such as `SKU-1`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Sku(String);

/// Why a text is not a [`Sku`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SkuError {
    /// The empty string.
    #[error("a SKU is required")]
    Empty,
    /// Longer than [`Sku::MAX_CHARS`].
    #[error("a SKU has at most {max} characters")]
    TooLong {
        /// The limit.
        max: usize,
    },
    /// A character outside `[A-Za-z0-9._-]`.
    #[error("a SKU uses only letters A-Z and a-z, digits, '.', '_' and '-'")]
    InvalidCharacter,
}

impl SkuError {
    /// Stable machine-readable code, for API error bodies.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Empty => "empty",
            Self::TooLong { .. } => "too_long",
            Self::InvalidCharacter => "invalid_character",
        }
    }
}

impl Sku {
    /// Longest accepted SKU.
    pub const MAX_CHARS: usize = 64;

    /// Validates a SKU; nothing is trimmed or changed.
    pub fn parse(text: &str) -> Result<Sku, SkuError> {
        if text.is_empty() {
            return Err(SkuError::Empty);
        }
        let allowed = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-');
        if !text.bytes().all(allowed) {
            return Err(SkuError::InvalidCharacter);
        }
        // All ASCII from here on, so bytes and characters agree.
        if text.len() > Self::MAX_CHARS {
            return Err(SkuError::TooLong {
                max: Self::MAX_CHARS,
            });
        }
        Ok(Sku(text.to_owned()))
    }

    /// The SKU as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The display name of an item, such as `Coffee beans`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ItemName(String);

/// Why a text is not an [`ItemName`]: the free-text rule of [`crate::text`].
pub type ItemNameError = TextError;

impl ItemName {
    /// Longest accepted name, in characters.
    pub const MAX_CHARS: usize = 200;

    /// Trims surrounding whitespace, then validates with the free-text rule.
    pub fn parse(text: &str) -> Result<ItemName, ItemNameError> {
        FreeText::check(text, Self::MAX_CHARS).map(|name| ItemName(name.to_owned()))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// How many units of an item: 1..=10_000.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "u32")]
pub struct Quantity(u32);

/// Why a number is not a [`Quantity`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum QuantityError {
    /// Zero.
    #[error("a quantity must be at least 1")]
    Zero,
    /// Below zero.
    #[error("a quantity cannot be negative")]
    Negative,
    /// Above [`Quantity::MAX`].
    #[error("a quantity is at most {max}")]
    TooLarge {
        /// The limit.
        max: u32,
    },
}

impl QuantityError {
    /// Stable machine-readable code, for API error bodies.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Zero => "zero",
            Self::Negative => "negative",
            Self::TooLarge { .. } => "too_large",
        }
    }
}

impl Quantity {
    /// Largest accepted quantity.
    pub const MAX: u32 = 10_000;

    /// Validates a quantity given as any integer, so each wrong value gets its own error.
    pub fn parse(value: i64) -> Result<Quantity, QuantityError> {
        match value {
            ..0 => Err(QuantityError::Negative),
            0 => Err(QuantityError::Zero),
            _ => match u32::try_from(value) {
                Ok(quantity) if quantity <= Self::MAX => Ok(Quantity(quantity)),
                _ => Err(QuantityError::TooLarge { max: Self::MAX }),
            },
        }
    }

    /// The quantity as a number.
    pub fn get(&self) -> u32 {
        self.0
    }
}

macro_rules! text_impls {
    ($type:ident, $error:ident) => {
        impl fmt::Display for $type {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl TryFrom<String> for $type {
            type Error = $error;

            fn try_from(value: String) -> Result<Self, Self::Error> {
                $type::parse(&value)
            }
        }

        impl From<$type> for String {
            fn from(value: $type) -> Self {
                value.0
            }
        }
    };
}

text_impls!(Sku, SkuError);
text_impls!(ItemName, ItemNameError);

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl TryFrom<i64> for Quantity {
    type Error = QuantityError;

    fn try_from(value: i64) -> Result<Self, Self::Error> {
        Quantity::parse(value)
    }
}

impl From<Quantity> for u32 {
    fn from(value: Quantity) -> Self {
        value.0
    }
}

/// One line of an order: `quantity` units of `sku` at `unit_price` each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderLine {
    /// What is ordered.
    pub sku: Sku,
    /// The name shown to people.
    pub name: ItemName,
    /// How many.
    pub quantity: Quantity,
    /// The price of one unit, in the order's currency.
    pub unit_price: Money,
}

impl OrderLine {
    /// A line from its stored form, the unit price in minor units of
    /// `currency` (as events and read models keep it).
    pub fn from_minor_units(
        sku: Sku,
        name: ItemName,
        quantity: Quantity,
        unit_price_minor: i64,
        currency: Currency,
    ) -> Result<OrderLine, MoneyError> {
        Ok(OrderLine {
            sku,
            name,
            quantity,
            unit_price: Money::from_minor_units(unit_price_minor, currency)?,
        })
    }

    /// `quantity × unit_price`, or [`OrderError::TotalOverflow`].
    pub fn line_total(&self) -> Result<Money, OrderError> {
        self.unit_price
            .checked_mul(self.quantity)
            .ok_or(OrderError::TotalOverflow)
    }
}

/// The sum of every line total, or [`OrderError::TotalOverflow`] (also when a line is priced in
/// another currency than `currency`, which callers rule out before).
pub(crate) fn order_total(currency: Currency, lines: &[OrderLine]) -> Result<Money, OrderError> {
    lines.iter().try_fold(Money::zero(currency), |total, line| {
        total
            .checked_add(line.line_total()?)
            .ok_or(OrderError::TotalOverflow)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skus_allow_letters_digits_dot_underscore_and_dash() {
        assert_eq!(
            Sku::parse("SKU-1.a_b").expect("valid").as_str(),
            "SKU-1.a_b"
        );
        assert!(Sku::parse(&"A".repeat(64)).is_ok());
    }

    #[test]
    fn empty_long_or_odd_skus_are_rejected() {
        assert_eq!(Sku::parse(""), Err(SkuError::Empty));
        assert_eq!(
            Sku::parse(&"A".repeat(65)),
            Err(SkuError::TooLong { max: 64 })
        );
        for text in ["SKU 1", "SKU/1", "ÄBC", " SKU"] {
            assert_eq!(
                Sku::parse(text),
                Err(SkuError::InvalidCharacter),
                "{text:?}"
            );
        }
    }

    #[test]
    fn item_names_are_trimmed_and_counted_in_characters() {
        assert_eq!(
            ItemName::parse("  Coffee beans ").expect("valid").as_str(),
            "Coffee beans"
        );
        assert!(ItemName::parse(&"ü".repeat(200)).is_ok());
        assert_eq!(
            ItemName::parse(&"ü".repeat(201)),
            Err(ItemNameError::TooLong { max: 200 })
        );
    }

    #[test]
    fn blank_or_control_item_names_are_rejected() {
        assert_eq!(ItemName::parse(" \t "), Err(ItemNameError::Empty));
        assert_eq!(
            ItemName::parse("a\u{7}b"),
            Err(ItemNameError::ControlCharacter)
        );
    }

    #[test]
    fn quantities_from_1_to_10_000_are_accepted() {
        assert_eq!(Quantity::parse(1).map(|q| q.get()), Ok(1));
        assert_eq!(Quantity::parse(10_000).map(|q| q.get()), Ok(10_000));
    }

    #[test]
    fn zero_negative_and_huge_quantities_each_get_their_own_error() {
        assert_eq!(Quantity::parse(0), Err(QuantityError::Zero));
        assert_eq!(Quantity::parse(-1), Err(QuantityError::Negative));
        assert_eq!(Quantity::parse(i64::MIN), Err(QuantityError::Negative));
        assert_eq!(
            Quantity::parse(10_001),
            Err(QuantityError::TooLarge { max: 10_000 })
        );
        assert_eq!(
            Quantity::parse(i64::MAX),
            Err(QuantityError::TooLarge { max: 10_000 })
        );
    }

    #[test]
    fn value_types_deserialize_only_when_valid() {
        assert!(serde_json::from_value::<Quantity>(serde_json::json!(0)).is_err());
        assert!(serde_json::from_value::<Sku>(serde_json::json!("a b")).is_err());
        let name: ItemName = serde_json::from_value(serde_json::json!(" Tea ")).expect("valid");
        assert_eq!(name.as_str(), "Tea");
    }

    #[test]
    fn totals_multiply_and_add_with_overflow_checks() {
        let line = |price: i64, quantity: i64| OrderLine {
            sku: Sku::parse("SKU-1").expect("valid"),
            name: ItemName::parse("Tea").expect("valid"),
            quantity: Quantity::parse(quantity).expect("valid"),
            unit_price: Money::from_minor_units(price, Currency::EUR).expect("valid"),
        };
        let total = order_total(Currency::EUR, &[line(1250, 2), line(100, 3)]).expect("fits");
        assert_eq!(total.minor_units(), 2800);
        assert_eq!(
            line(i64::MAX / 2, 10).line_total(),
            Err(OrderError::TotalOverflow)
        );
        assert_eq!(
            order_total(
                Currency::EUR,
                &[line(i64::MAX / 2, 1), line(i64::MAX / 2, 2)]
            ),
            Err(OrderError::TotalOverflow)
        );
    }
}
