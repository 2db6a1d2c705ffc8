//! `CreateOrder::parse`: every rule of a new order, and that all errors come back at once.

use crate::testing::{order_id, raw_line, raw_order, user};
use crate::{CreateOrder, Currency, RawLine, RawOrder, ValidationErrors};

fn parse(raw: RawOrder) -> Result<CreateOrder, ValidationErrors> {
    CreateOrder::parse(order_id(1), user("alice"), raw)
}

/// The `(path, code)` pairs of a refused order.
fn refusals(raw: RawOrder) -> Vec<(String, &'static str)> {
    let errors = parse(raw).expect_err("the order should be refused");
    errors
        .errors()
        .iter()
        .map(|error| (error.path.clone(), error.code))
        .collect()
}

fn refusal(path: &str, code: &'static str) -> Vec<(String, &'static str)> {
    vec![(path.to_owned(), code)]
}

fn one_line(currency: &str, quantity: i64, unit_price: &str) -> RawOrder {
    raw_order(currency, vec![raw_line("SKU-1", quantity, unit_price)])
}

fn unit_price_minor(currency: &str, unit_price: &str) -> i64 {
    let order = parse(one_line(currency, 1, unit_price)).expect("valid");
    order.lines[0].unit_price.minor_units()
}

#[test]
fn a_valid_order_becomes_a_command_with_minor_units() {
    let order = parse(raw_order(
        "EUR",
        vec![RawLine {
            sku: "SKU-1".into(),
            name: "  Coffee beans ".into(),
            quantity: 2,
            unit_price: "12.50".into(),
        }],
    ))
    .expect("valid");
    assert_eq!(order.currency, Currency::EUR);
    assert_eq!(order.buyer_id, user("alice"));
    let line = &order.lines[0];
    assert_eq!(line.sku.as_str(), "SKU-1");
    assert_eq!(line.name.as_str(), "Coffee beans");
    assert_eq!(line.quantity.get(), 2);
    assert_eq!(line.unit_price.minor_units(), 1250);
}

#[test]
fn the_wire_shape_of_a_raw_order_is_camel_case() {
    let json = serde_json::json!({
        "currency": "EUR",
        "items": [{"sku": "SKU-1", "name": "Coffee beans", "quantity": 2, "unitPrice": "12.50"}]
    });
    let raw: RawOrder = serde_json::from_value(json.clone()).expect("deserialize");
    assert_eq!(raw.items[0].unit_price, "12.50");
    assert_eq!(serde_json::to_value(&raw).expect("serialize"), json);
}

#[test]
fn an_order_without_items_is_rejected() {
    assert_eq!(
        refusals(raw_order("EUR", vec![])),
        refusal("items", "too_few_items")
    );
}

#[test]
fn an_order_with_100_items_is_accepted_and_101_is_rejected() {
    let items = |count| (0..count).map(|_| raw_line("SKU-1", 1, "1")).collect();
    assert_eq!(
        parse(raw_order("EUR", items(100)))
            .expect("valid")
            .lines
            .len(),
        100
    );
    assert_eq!(
        refusals(raw_order("EUR", items(101))),
        refusal("items", "too_many_items")
    );
}

#[test]
fn quantities_1_and_10_000_are_accepted() {
    assert!(parse(one_line("EUR", 1, "1")).is_ok());
    assert!(parse(one_line("EUR", 10_000, "1")).is_ok());
}

#[test]
fn quantities_0_negative_and_10_001_are_rejected_each_with_its_code() {
    assert_eq!(
        refusals(one_line("EUR", 0, "1")),
        refusal("items/0/quantity", "zero")
    );
    assert_eq!(
        refusals(one_line("EUR", -1, "1")),
        refusal("items/0/quantity", "negative")
    );
    assert_eq!(
        refusals(one_line("EUR", 10_001, "1")),
        refusal("items/0/quantity", "too_large")
    );
}

#[test]
fn unit_prices_are_read_in_the_minor_units_of_the_currency() {
    assert_eq!(unit_price_minor("EUR", "0"), 0);
    assert_eq!(unit_price_minor("EUR", "12.50"), 1250);
    assert_eq!(unit_price_minor("JPY", "1000"), 1000);
    assert_eq!(unit_price_minor("BHD", "1.234"), 1234);
}

#[test]
fn bad_unit_prices_are_rejected_with_precise_codes() {
    let price_refusal = |currency, price| refusals(one_line(currency, 1, price));
    let at_price = |code| refusal("items/0/unitPrice", code);
    assert_eq!(price_refusal("EUR", "-1"), at_price("negative"));
    assert_eq!(
        price_refusal("EUR", "12.505"),
        at_price("too_many_decimals")
    );
    assert_eq!(price_refusal("EUR", "12.5.0"), at_price("malformed"));
    assert_eq!(price_refusal("JPY", "1.5"), at_price("too_many_decimals"));
    assert_eq!(price_refusal("EUR", ""), at_price("empty"));
    assert_eq!(
        price_refusal("EUR", "99999999999999999999"),
        at_price("overflow")
    );
}

#[test]
fn the_decimals_message_names_the_limit() {
    let errors = parse(one_line("EUR", 1, "12.505")).expect_err("refused");
    assert_eq!(
        errors.errors()[0].message,
        "at most 2 decimal places are allowed in this currency"
    );
}

#[test]
fn unknown_and_lowercase_currencies_are_rejected() {
    assert_eq!(
        refusals(one_line("ABC", 1, "1")),
        refusal("currency", "unknown_currency")
    );
    assert_eq!(
        refusals(one_line("eur", 1, "1")),
        refusal("currency", "invalid_format")
    );
}

#[test]
fn a_total_beyond_64_bits_is_rejected() {
    let half = (i64::MAX / 2).to_string();
    assert_eq!(
        refusals(one_line("JPY", 10, &half)),
        refusal("items", "total_overflow")
    );
    let two_lines = raw_order(
        "JPY",
        vec![raw_line("A", 1, &half), raw_line("B", 2, &half)],
    );
    assert_eq!(refusals(two_lines), refusal("items", "total_overflow"));
}

#[test]
fn every_invalid_field_is_reported_at_once_in_request_order() {
    let raw = raw_order(
        "ABC",
        vec![
            raw_line("SKU-1", 1, "1"),
            RawLine {
                sku: "bad sku".into(),
                name: " ".into(),
                quantity: 0,
                unit_price: "-3".into(),
            },
            raw_line("SKU-3", 20_000, "1.5.0"),
        ],
    );
    let expected: Vec<(String, &str)> = [
        ("currency", "unknown_currency"),
        ("items/1/sku", "invalid_character"),
        ("items/1/name", "empty"),
        ("items/1/quantity", "zero"),
        ("items/1/unitPrice", "negative"),
        ("items/2/quantity", "too_large"),
        ("items/2/unitPrice", "malformed"),
    ]
    .into_iter()
    .map(|(path, code)| (path.to_owned(), code))
    .collect();
    assert_eq!(refusals(raw), expected);
}

#[test]
fn with_an_unknown_currency_decimals_are_not_judged_but_syntax_is() {
    let raw = raw_order(
        "XYZ",
        vec![raw_line("A", 1, "1.23456"), raw_line("B", 1, "1,5")],
    );
    assert_eq!(
        refusals(raw),
        vec![
            ("currency".to_owned(), "unknown_currency"),
            ("items/1/unitPrice".to_owned(), "malformed"),
        ]
    );
}
