//! One free-text rule for every field a person types: what a name refuses, a cancellation
//! reason refuses too, and the other way round.

use crate::testing::{created, given, order_id, raw_line, raw_order, user};
use crate::{CancelOrder, CreateOrder, OrderError, OrderEvent};

/// Texts no free-text field accepts, with the code each is refused with.
const REFUSED: [(&str, &str); 6] = [
    ("ring\u{7}", "control_character"),
    ("two\nlines", "control_character"),
    ("esc\u{1B}[2J", "control_character"),
    ("abc\u{202E}fed", "bidi_control"),
    ("\u{200B}\u{200B}\u{200B}", "empty"),
    ("\u{FEFF} \u{2060}", "empty"),
];

fn field_error_code(error: &OrderError, path: &str) -> Option<&'static str> {
    match error {
        OrderError::Validation(errors) => errors
            .errors()
            .iter()
            .find(|error| error.path == path)
            .map(|error| error.code),
        _ => None,
    }
}

#[test]
fn an_item_name_refuses_control_bidi_and_invisible_only_text() {
    for (text, code) in REFUSED {
        let mut raw = raw_order("EUR", vec![raw_line("SKU-1", 1, "1.00")]);
        raw.items[0].name = text.to_owned();
        let error = CreateOrder::parse(order_id(1), user("alice"), raw).unwrap_err();
        let found = error
            .errors()
            .iter()
            .find(|error| error.path == "items/0/name");
        assert_eq!(found.map(|error| error.code), Some(code), "{text:?}");
    }
}

#[test]
fn a_cancellation_reason_refuses_what_a_name_refuses_except_that_blank_means_none() {
    let id = order_id(1);
    for (text, code) in REFUSED {
        let result = given(created(id, "alice"))
            .when(CancelOrder {
                order_id: id,
                reason: Some(text.to_owned()),
            })
            .result();
        if code == "empty" {
            // An optional text with nothing visible is no text.
            let events = result.unwrap();
            assert!(
                matches!(
                    &events[..],
                    [OrderEvent::OrderCancelled { reason: None, .. }]
                ),
                "{text:?}: {events:?}"
            );
        } else {
            let error = result.unwrap_err();
            assert_eq!(field_error_code(&error, "reason"), Some(code), "{text:?}");
        }
    }
}

#[test]
fn a_cancellation_reason_is_stored_trimmed() {
    let id = order_id(1);
    let events = given(created(id, "alice"))
        .when(CancelOrder {
            order_id: id,
            reason: Some("  changed my mind \u{3000}".to_owned()),
        })
        .result()
        .unwrap();
    assert!(matches!(
        &events[..],
        [OrderEvent::OrderCancelled { reason: Some(reason), .. }] if reason == "changed my mind"
    ));
}
