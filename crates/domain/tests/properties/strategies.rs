//! Arbitrary command sequences against a handful of orders: creations (valid, empty,
//! overfull, mixed-currency and overflowing ones), confirmations, cancellations with
//! reasons good and bad, and subscriptions by many actors (some ids malformed).

use orderflow_domain::{
    AddSubscription, CancelOrder, ConfirmOrder, CreateOrder, Currency, ItemName, MAX_LINES,
    OrderCommand, OrderId, OrderLine, Quantity, Sku, UserId,
};
use proptest::prelude::*;
use uuid::Uuid;

/// How many different orders a sequence talks about.
pub(crate) const ORDERS: u128 = 2;

pub(crate) fn order_id(n: u128) -> OrderId {
    OrderId::from_uuid(Uuid::from_u128(
        0x0190_0000_0000_7000_8000_0000_0000_0000 | n,
    ))
    .expect("never the nil uuid")
}

fn currency() -> impl Strategy<Value = Currency> {
    prop::sample::select(vec!["EUR", "JPY", "BHD", "USD"])
        .prop_map(|code| Currency::parse(code).expect("an ISO 4217 code"))
}

/// Mostly well-formed subject ids from a pool of `pool` users, sometimes ids a `UserId` takes
/// but a subscriber id does not (spaces, non-ASCII).
fn actor(pool: u16) -> impl Strategy<Value = UserId> {
    prop_oneof![
        8 => (0..pool).prop_map(|n| format!("user-{n}")),
        1 => "[a-z]{1,3} [a-z]{1,3}",
        1 => "[a-zé]{1,4}",
    ]
    .prop_map(|text| UserId::parse(&text).expect("a valid user id"))
}

/// Unit prices: small ones, and ones large enough to overflow a total.
fn line(currency: Currency) -> impl Strategy<Value = OrderLine> {
    let price = prop_oneof![4 => 0..100_000_i64, 1 => 0..=i64::MAX];
    (
        "[A-Z]{1,4}-[0-9]{1,2}",
        "[A-Za-z ]{0,6}[a-z]",
        1..=Quantity::MAX,
        price,
    )
        .prop_map(move |(sku, name, quantity, price)| {
            OrderLine::from_minor_units(
                Sku::parse(&sku).expect("a valid sku"),
                ItemName::parse(&name).expect("a valid name"),
                Quantity::parse(i64::from(quantity)).expect("a valid quantity"),
                price,
                currency,
            )
            .expect("a non-negative price")
        })
}

/// What shape of order a creation asks for.
#[derive(Debug, Clone, Copy)]
enum Shape {
    Usual,
    Empty,
    Overfull,
    MixedCurrency,
}

fn create(order_id: OrderId) -> impl Strategy<Value = OrderCommand> {
    let shape = prop_oneof![
        12 => Just(Shape::Usual),
        1 => Just(Shape::Empty),
        1 => Just(Shape::Overfull),
        1 => Just(Shape::MixedCurrency),
    ];
    (currency(), actor(8), shape).prop_flat_map(move |(currency, buyer, shape)| {
        let lines = prop::collection::vec(line(currency), 1..4);
        let stranger = line(Currency::parse("CHF").expect("an ISO 4217 code"));
        (lines, stranger).prop_map(move |(mut lines, stranger)| {
            match shape {
                Shape::Usual => {}
                Shape::Empty => lines.clear(),
                Shape::Overfull => lines = vec![lines[0].clone(); MAX_LINES + 1],
                Shape::MixedCurrency => lines.push(stranger),
            }
            OrderCommand::Create(CreateOrder {
                order_id,
                buyer_id: buyer.clone(),
                currency,
                lines,
            })
        })
    })
}

/// Reasons: none, ordinary, blank, too long, with a control or a bidi character.
fn reason() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        2 => Just(None),
        4 => "[A-Za-z ]{0,30}".prop_map(Some),
        1 => "\\PC{0,12}".prop_map(Some),
        1 => Just(Some(" \u{200b} ".to_owned())),
        1 => Just(Some("x".repeat(501))),
        1 => Just(Some("late\u{7}".to_owned())),
        1 => Just(Some("evil\u{202e}txt".to_owned())),
    ]
}

/// One command to one of the [`ORDERS`] orders; `subscribing` weighs subscriptions (by one of
/// `pool` users) against the seven other weights.
fn command(subscribing: u32, pool: u16) -> impl Strategy<Value = OrderCommand> {
    (0..ORDERS).prop_flat_map(move |n| {
        let order_id = order_id(n);
        prop_oneof![
            3 => create(order_id),
            2 => Just(OrderCommand::Confirm(ConfirmOrder { order_id })),
            2 => reason().prop_map(move |reason| OrderCommand::Cancel(CancelOrder {
                order_id,
                reason,
            })),
            subscribing => actor(pool).prop_map(move |subscriber_id| {
                OrderCommand::AddSubscription(AddSubscription {
                    order_id,
                    subscriber_id,
                })
            }),
        ]
    })
}

/// A sequence of commands: a few users doing everything, or a crowd subscribing so much that
/// orders stay pending long enough to fill their subscribers.
pub(crate) fn commands() -> impl Strategy<Value = Vec<OrderCommand>> {
    prop_oneof![Just((12, 8)), Just((100, 1_000))].prop_flat_map(|(subscribing, pool)| {
        prop::collection::vec(command(subscribing, pool), 1..150)
    })
}
