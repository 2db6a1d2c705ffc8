//! The raw order request and its validation into a [`CreateOrder`].
//!
//! Guarantees: [`CreateOrder::parse`] either returns a command whose values are all valid
//! (1..=100 lines, every price in the order's currency, a total that fits in 64-bit minor units)
//! or a [`ValidationErrors`] listing every invalid field, each with a path such as
//! `items/0/unitPrice` and a stable code such as `too_many_decimals`.

use serde::{Deserialize, Serialize};

use super::{CreateOrder, MAX_LINES, MAX_REASON_CHARS, MIN_LINES};
use crate::currency::Currency;
use crate::ids::{OrderId, UserId};
use crate::line::{ItemName, OrderLine, Quantity, Sku, order_total};
use crate::money::{DecimalText, Money};
use crate::text::{FreeText, TextError};
use crate::validation::{FieldError, ValidationErrors};

/// An order as it arrives on the wire, before validation:
/// `{"currency":"EUR","items":[{"sku":"SKU-1","name":"Coffee beans","quantity":2,"unitPrice":"12.50"}]}`.
/// Decoding ignores members it does not know (a tolerant reader, so a newer sender on the
/// bus is understood); the HTTP edge refuses them, naming each (`orderflow-http`'s JSON body
/// extractor).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawOrder {
    /// ISO 4217 code.
    pub currency: String,
    /// The lines.
    pub items: Vec<RawLine>,
}

/// One line as it arrives on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawLine {
    /// Stock keeping unit.
    pub sku: String,
    /// Item name.
    pub name: String,
    /// Units ordered (any integer, so out-of-range values get a clear error).
    pub quantity: i64,
    /// Decimal price of one unit, such as `"12.50"`.
    pub unit_price: String,
}

impl CreateOrder {
    /// Validates a raw order, reporting every invalid field at once.
    pub fn parse(
        order_id: OrderId,
        buyer_id: UserId,
        raw: RawOrder,
    ) -> Result<CreateOrder, ValidationErrors> {
        let mut errors = Vec::new();
        let currency = Currency::parse(&raw.currency)
            .map_err(|error| FieldError::new("currency", error.code(), error.to_string()));
        if let Err(error) = &currency {
            errors.push(error.clone());
        }
        errors.extend(check_line_count(raw.items.len()));

        let mut lines = Vec::with_capacity(raw.items.len());
        for (index, raw_line) in raw.items.iter().enumerate() {
            let known_currency = currency.as_ref().ok().copied();
            if let Some(line) = parse_line(index, raw_line, known_currency, &mut errors) {
                lines.push(line);
            }
        }
        if let Some(errors) = ValidationErrors::from_errors(errors) {
            return Err(errors);
        }

        let currency = currency.map_err(ValidationErrors::single)?;
        if order_total(currency, &lines).is_err() {
            return Err(ValidationErrors::single(total_overflow()));
        }
        Ok(CreateOrder {
            order_id,
            buyer_id,
            currency,
            lines,
        })
    }
}

/// Parses one line, pushing an error per invalid field. With no valid currency the price is
/// still checked for syntax (empty, negative, malformed), but no line is built.
fn parse_line(
    index: usize,
    raw: &RawLine,
    currency: Option<Currency>,
    errors: &mut Vec<FieldError>,
) -> Option<OrderLine> {
    let mut field_error = |field: &str, code: &'static str, message: String| {
        errors.push(FieldError::new(
            format!("items/{index}/{field}"),
            code,
            message,
        ));
    };
    let sku = Sku::parse(&raw.sku)
        .map_err(|e| field_error("sku", e.code(), e.to_string()))
        .ok();
    let name = ItemName::parse(&raw.name)
        .map_err(|e| field_error("name", e.code(), e.to_string()))
        .ok();
    let quantity = Quantity::parse(raw.quantity)
        .map_err(|e| field_error("quantity", e.code(), e.to_string()))
        .ok();
    let unit_price = match currency {
        Some(currency) => Money::parse(&raw.unit_price, currency).map(Some),
        None => DecimalText::parse(&raw.unit_price).map(|_| None),
    }
    .map_err(|e| field_error("unitPrice", e.code(), e.to_string()))
    .ok()
    .flatten();
    Some(OrderLine {
        sku: sku?,
        name: name?,
        quantity: quantity?,
        unit_price: unit_price?,
    })
}

/// The `items` error for a line count outside 1..=100, if any.
pub(crate) fn check_line_count(count: usize) -> Option<FieldError> {
    if count < MIN_LINES {
        return Some(FieldError::new(
            "items",
            "too_few_items",
            format!("an order needs at least {MIN_LINES} item"),
        ));
    }
    if count > MAX_LINES {
        return Some(FieldError::new(
            "items",
            "too_many_items",
            format!("an order has at most {MAX_LINES} items, this one has {count}"),
        ));
    }
    None
}

/// The `items` error for a total beyond 64-bit minor units.
fn total_overflow() -> FieldError {
    FieldError::new("items", "total_overflow", "the order total is too large")
}

/// A cancellation reason by the free-text rule (at most 500 characters), trimmed; a reason
/// with nothing visible is no reason (`None`).
/// A cancellation reason by the one free-text rule: trimmed, `None` when nothing
/// visible is left, refused when too long or holding control or bidi characters.
pub fn check_reason(reason: Option<&str>) -> Result<Option<String>, FieldError> {
    match reason.map(|reason| FreeText::check(reason, MAX_REASON_CHARS)) {
        None | Some(Err(TextError::Empty)) => Ok(None),
        Some(Ok(reason)) => Ok(Some(reason.to_owned())),
        Some(Err(error)) => Err(FieldError::new(
            "reason",
            error.code(),
            format!("a reason: {error}"),
        )),
    }
}
