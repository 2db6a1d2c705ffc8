//! Entry points for the fuzzer (`fuzz/`) and the replay of its seed corpus; not an API.
//!
//! Compiled for this crate's tests and with the `fuzzing` feature only.

use time::OffsetDateTime;
use uuid::Uuid;

use crate::command::{CreateOrder, OrderCommand, RawOrder};
use crate::event::OrderEvent;
use crate::ids::{OrderId, UserId};
use crate::order::{OrderStatus, decide, fold};

/// `data` as a `POST /orders` body (JSON → [`RawOrder`] → [`CreateOrder::parse`]): an order
/// that parses is one `decide` accepts, with the right total, whose events survive their
/// stored form; one that does not is refused with field errors on `currency` or `items`.
pub fn order_body(data: &[u8]) {
    let Ok(raw) = serde_json::from_slice::<RawOrder>(data) else {
        return;
    };
    let order_id = OrderId::from_uuid(Uuid::from_u128(1)).expect("not the nil uuid");
    let buyer = UserId::parse("buyer-1").expect("a valid user id");
    let command = match CreateOrder::parse(order_id, buyer, raw) {
        Ok(command) => command,
        Err(errors) => {
            let errors = errors.errors();
            assert!(!errors.is_empty(), "refused without a reason");
            for error in errors {
                let field = error.path.as_str();
                assert!(field == "currency" || field.starts_with("items"), "{field}");
            }
            return;
        }
    };
    let sum: i128 = command
        .lines
        .iter()
        .map(|line| i128::from(line.quantity.get()) * i128::from(line.unit_price.minor_units()))
        .sum();
    let now = OffsetDateTime::UNIX_EPOCH;
    let events = decide(None, &OrderCommand::Create(command), now)
        .unwrap_or_else(|error| panic!("a parsed order refused by decide: {error}"));
    for event in &events {
        let stored =
            OrderEvent::decode(event.event_type(), event.schema_version(), &event.to_json());
        assert_eq!(
            stored.as_ref(),
            Ok(event),
            "an event lost in its stored form"
        );
    }
    let order = fold(&events).expect("an order was created");
    assert_eq!(
        i128::from(order.total().minor_units()),
        sum,
        "a wrong total"
    );
    assert_eq!(order.status(), OrderStatus::Pending);
}

#[cfg(test)]
#[path = "../../../fuzz/seeds.rs"]
mod seeds;

#[cfg(test)]
mod tests {
    use super::seeds::seeds;
    use super::*;

    #[test]
    fn every_seed_of_the_order_body_corpus_is_parsed_without_a_panic() {
        seeds("order_body").iter().for_each(|seed| order_body(seed));
    }
}
