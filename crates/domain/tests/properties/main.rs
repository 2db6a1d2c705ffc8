//! Properties of the Order aggregate over arbitrary command sequences (see `strategies.rs`):
//! whatever is asked, in whatever order, by whoever, the aggregate keeps its invariants.

mod model;
mod strategies;

use orderflow_domain::{MAX_SUBSCRIBERS, OrderEvent, OrderStatus, fold};
use proptest::prelude::*;

use model::{Expected, line_sum, run};
use strategies::commands;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn an_order_total_is_the_sum_of_quantity_times_unit_price_in_minor_units(
        commands in commands()
    ) {
        for step in run(&commands) {
            if let Some(order) = &step.after {
                prop_assert_eq!(i128::from(order.total().minor_units()), line_sum(order.lines()));
                prop_assert_eq!(order.total().currency(), order.currency());
            }
        }
    }

    #[test]
    fn the_status_only_moves_from_pending_and_never_leaves_a_final_state(
        commands in commands()
    ) {
        use OrderStatus::{Cancelled, Confirmed, Pending};
        for step in run(&commands) {
            let before = step.before.as_ref().map(|order| order.status());
            let after = step.after.as_ref().map(|order| order.status());
            let allowed = matches!(
                (before, after),
                (None, None | Some(Pending))
                    | (Some(Pending), Some(Pending | Confirmed | Cancelled))
                    | (Some(Confirmed), Some(Confirmed))
                    | (Some(Cancelled), Some(Cancelled))
            );
            prop_assert!(allowed, "{:?} → {:?} by {:?}", before, after, step.command);
        }
    }

    #[test]
    fn folding_the_stream_gives_the_state_decided_step_by_step(commands in commands()) {
        for step in run(&commands) {
            prop_assert_eq!(fold(&step.stream), step.after.clone(), "after {:?}", step.command);
        }
    }

    #[test]
    fn the_revision_grows_by_exactly_the_events_decide_returned(commands in commands()) {
        for step in run(&commands) {
            let before = step.before.as_ref().map_or(0, |order| order.version());
            let after = step.after.as_ref().map_or(0, |order| order.version());
            prop_assert_eq!(after, before + step.events().len() as u64, "{:?}", step.command);
            prop_assert_eq!(after, step.stream.len() as u64);
        }
    }

    #[test]
    fn a_command_is_refused_exactly_when_the_rules_say_so_and_then_records_nothing(
        commands in commands()
    ) {
        for step in run(&commands) {
            match (&step.outcome, step.expected) {
                (Err(_), Expected::Refused) => {
                    prop_assert_eq!(&step.after, &step.before, "a refusal changed the order");
                }
                (Ok(events), Expected::Accepted(count)) => {
                    prop_assert_eq!(events.len(), count, "{:?}", step.command);
                }
                (outcome, expected) => prop_assert!(
                    false,
                    "{:?} gave {:?}, the rules say {:?}",
                    step.command,
                    outcome,
                    expected
                ),
            }
        }
    }

    #[test]
    fn subscribers_stay_unique_within_the_bound_and_include_the_buyer(commands in commands()) {
        for step in run(&commands) {
            let Some(order) = &step.after else { continue };
            prop_assert!(order.subscribers().len() <= MAX_SUBSCRIBERS);
            prop_assert!(order.is_subscribed(order.buyer_id()));
            let recorded = step
                .stream
                .iter()
                .filter(|event| matches!(event, OrderEvent::OrderSubscriptionAdded { .. }))
                .count();
            prop_assert_eq!(recorded, order.subscribers().len(), "a subscriber recorded twice");
        }
    }

    #[test]
    fn every_event_decide_produces_survives_its_stored_form(commands in commands()) {
        for step in run(&commands) {
            for event in step.events() {
                let decoded =
                    OrderEvent::decode(event.event_type(), event.schema_version(), &event.to_json());
                prop_assert_eq!(decoded.as_ref(), Ok(event));
            }
        }
    }
}
