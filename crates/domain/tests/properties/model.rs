//! Runs a command sequence through the real `decide`/`evolve`, next to a model of the rules
//! written independently of them, and records every step for the properties to check.

use std::collections::{BTreeMap, BTreeSet};

use orderflow_domain::{
    FreeText, MAX_LINES, MAX_REASON_CHARS, MAX_SUBSCRIBER_ID_CHARS, MAX_SUBSCRIBERS, MIN_LINES,
    Order, OrderCommand, OrderError, OrderEvent, OrderId, OrderLine, OrderStatus, UserId, decide,
    evolve,
};
use time::OffsetDateTime;

/// What the model says a command does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Expected {
    Refused,
    /// Accepted, recorded by this many events.
    Accepted(usize),
}

/// One command, decided against the state of its order.
#[derive(Debug)]
pub(crate) struct Step {
    pub(crate) command: OrderCommand,
    /// The order's state before, built event by event.
    pub(crate) before: Option<Order>,
    pub(crate) outcome: Result<Vec<OrderEvent>, OrderError>,
    /// `before` evolved by the events `decide` returned (unchanged when refused).
    pub(crate) after: Option<Order>,
    /// The order's whole stream after the step.
    pub(crate) stream: Vec<OrderEvent>,
    pub(crate) expected: Expected,
}

impl Step {
    pub(crate) fn events(&self) -> &[OrderEvent] {
        self.outcome.as_deref().unwrap_or_default()
    }
}

/// The model: what the rules say, kept without `decide` or `evolve`.
#[derive(Debug)]
struct ModelOrder {
    status: OrderStatus,
    subscribers: BTreeSet<UserId>,
}

/// `quantity × unit price` summed over the lines, in minor units, without overflow.
pub(crate) fn line_sum(lines: &[OrderLine]) -> i128 {
    lines
        .iter()
        .map(|line| i128::from(line.quantity.get()) * i128::from(line.unit_price.minor_units()))
        .sum()
}

fn predict(model: Option<&ModelOrder>, command: &OrderCommand) -> Expected {
    use Expected::{Accepted, Refused};
    let Some(order) = model else {
        return match command {
            OrderCommand::Create(create) => {
                let lines_ok = (MIN_LINES..=MAX_LINES).contains(&create.lines.len());
                let one_currency = create
                    .lines
                    .iter()
                    .all(|line| line.unit_price.currency() == create.currency);
                let fits = line_sum(&create.lines) <= i128::from(i64::MAX);
                if lines_ok && one_currency && fits {
                    Accepted(2)
                } else {
                    Refused
                }
            }
            _ => Refused,
        };
    };
    let pending = order.status == OrderStatus::Pending;
    match command {
        OrderCommand::Create(_) => Refused,
        OrderCommand::Confirm(_) if pending => Accepted(1),
        OrderCommand::Cancel(cancel) if pending && reason_is_acceptable(&cancel.reason) => {
            Accepted(1)
        }
        OrderCommand::Confirm(_) | OrderCommand::Cancel(_) => Refused,
        OrderCommand::AddSubscription(add) => {
            let id = add.subscriber_id.as_str();
            let well_formed = id.len() <= MAX_SUBSCRIBER_ID_CHARS
                && id.bytes().all(|byte| byte.is_ascii_graphic());
            if !well_formed {
                Refused
            } else if order.subscribers.contains(&add.subscriber_id) {
                Accepted(0)
            } else if pending && order.subscribers.len() < MAX_SUBSCRIBERS {
                Accepted(1)
            } else {
                Refused
            }
        }
    }
}

/// No reason, a blank one, or free text of at most 500 characters.
fn reason_is_acceptable(reason: &Option<String>) -> bool {
    reason.as_deref().is_none_or(|reason| {
        matches!(
            FreeText::check(reason, MAX_REASON_CHARS),
            Ok(_) | Err(orderflow_domain::TextError::Empty)
        )
    })
}

fn learn(model: &mut BTreeMap<OrderId, ModelOrder>, command: &OrderCommand) {
    let id = command.order_id();
    match command {
        OrderCommand::Create(create) => {
            model.insert(
                id,
                ModelOrder {
                    status: OrderStatus::Pending,
                    subscribers: BTreeSet::from([create.buyer_id.clone()]),
                },
            );
        }
        OrderCommand::Confirm(_) => set_status(model, id, OrderStatus::Confirmed),
        OrderCommand::Cancel(_) => set_status(model, id, OrderStatus::Cancelled),
        OrderCommand::AddSubscription(add) => {
            if let Some(order) = model.get_mut(&id) {
                order.subscribers.insert(add.subscriber_id.clone());
            }
        }
    }
}

fn set_status(model: &mut BTreeMap<OrderId, ModelOrder>, id: OrderId, status: OrderStatus) {
    if let Some(order) = model.get_mut(&id) {
        order.status = status;
    }
}

/// Decides every command in turn, one second apart, appending what was accepted.
pub(crate) fn run(commands: &[OrderCommand]) -> Vec<Step> {
    let mut streams: BTreeMap<OrderId, Vec<OrderEvent>> = BTreeMap::new();
    let mut states: BTreeMap<OrderId, Order> = BTreeMap::new();
    let mut model: BTreeMap<OrderId, ModelOrder> = BTreeMap::new();
    let start = OffsetDateTime::from_unix_timestamp(1_767_323_045).expect("a valid instant");
    let mut steps = Vec::with_capacity(commands.len());
    for (second, command) in (0_i64..).zip(commands) {
        let id = command.order_id();
        let now = start + time::Duration::seconds(second);
        let before = states.get(&id).cloned();
        let expected = predict(model.get(&id), command);
        if expected != Expected::Refused {
            learn(&mut model, command);
        }
        let outcome = decide(before.as_ref(), command, now);
        let stream = streams.entry(id).or_default();
        let after = match &outcome {
            Ok(events) => {
                stream.extend(events.iter().cloned());
                events.iter().fold(before.clone(), evolve)
            }
            Err(_) => before.clone(),
        };
        if let Some(order) = &after {
            states.insert(id, order.clone());
        }
        steps.push(Step {
            command: command.clone(),
            before,
            outcome,
            after,
            stream: stream.clone(),
            expected,
        });
    }
    steps
}
