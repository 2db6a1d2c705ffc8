//! [`decide`]: the Order aggregate's rules, as a pure function of state, command and clock.
//!
//! Guarantees: a command either yields the events that record it or an [`OrderError`], and
//! never both; nothing is read from the clock or the outside world. Creating emits
//! `OrderCreated` then `OrderSubscriptionAdded` for the buyer. Confirm and cancel only leave
//! `pending`; repeating one is an error (not a no-op). Subscriptions follow
//! `subscriptions.rs` (bounded, pending orders only; subscribing a subscriber again yields no
//! event). The cross-field rules of a new order are checked again here, whatever built it.

use time::{OffsetDateTime, UtcOffset};

use super::subscriptions::subscribe;
use super::{Order, OrderStatus};
use crate::command::{
    CancelOrder, ConfirmOrder, CreateOrder, OrderCommand, check_line_count, check_reason,
};
use crate::error::OrderError;
use crate::event::OrderEvent;
use crate::line::order_total;
use crate::validation::{FieldError, ValidationErrors};

/// Decides what `command` does to the order in `state` (`None`: no such order yet) at `now`.
///
/// Timestamps in the events are `now` in UTC.
pub fn decide(
    state: Option<&Order>,
    command: &OrderCommand,
    now: OffsetDateTime,
) -> Result<Vec<OrderEvent>, OrderError> {
    debug_assert!(
        state.is_none_or(|order| order.id == command.order_id()),
        "the state of another order was passed"
    );
    let state = state.filter(|order| order.id == command.order_id());
    let now = now.checked_to_offset(UtcOffset::UTC).unwrap_or(now);
    match command {
        OrderCommand::Create(command) => create(state, command, now),
        OrderCommand::Confirm(command) => confirm(existing(state)?, command, now),
        OrderCommand::Cancel(command) => cancel(existing(state)?, command, now),
        OrderCommand::AddSubscription(command) => subscribe(existing(state)?, command),
    }
}

fn existing(state: Option<&Order>) -> Result<&Order, OrderError> {
    state.ok_or(OrderError::NotFound)
}

fn create(
    state: Option<&Order>,
    command: &CreateOrder,
    now: OffsetDateTime,
) -> Result<Vec<OrderEvent>, OrderError> {
    if state.is_some() {
        return Err(OrderError::AlreadyExists);
    }
    let mut errors: Vec<FieldError> = check_line_count(command.lines.len()).into_iter().collect();
    for (index, line) in command.lines.iter().enumerate() {
        let price_currency = line.unit_price.currency();
        if price_currency != command.currency {
            errors.push(FieldError::new(
                format!("items/{index}/unitPrice"),
                "currency_mismatch",
                format!(
                    "priced in {price_currency}, but the order is in {}",
                    command.currency
                ),
            ));
        }
    }
    if let Some(errors) = ValidationErrors::from_errors(errors) {
        return Err(errors.into());
    }
    let total = order_total(command.currency, &command.lines)?;
    Ok(vec![
        OrderEvent::OrderCreated {
            order_id: command.order_id,
            buyer_id: command.buyer_id.clone(),
            currency: command.currency,
            lines: command.lines.clone(),
            total,
            created_at: now,
        },
        OrderEvent::OrderSubscriptionAdded {
            order_id: command.order_id,
            subscriber_id: command.buyer_id.clone(),
        },
    ])
}

fn confirm(
    order: &Order,
    command: &ConfirmOrder,
    now: OffsetDateTime,
) -> Result<Vec<OrderEvent>, OrderError> {
    match order.status {
        OrderStatus::Pending => Ok(vec![OrderEvent::OrderConfirmed {
            order_id: command.order_id,
            confirmed_at: now,
        }]),
        OrderStatus::Confirmed => Err(OrderError::AlreadyConfirmed),
        OrderStatus::Cancelled => Err(OrderError::InvalidTransition {
            from: OrderStatus::Cancelled,
            to: OrderStatus::Confirmed,
        }),
    }
}

fn cancel(
    order: &Order,
    command: &CancelOrder,
    now: OffsetDateTime,
) -> Result<Vec<OrderEvent>, OrderError> {
    let reason = check_reason(command.reason.as_deref()).map_err(ValidationErrors::single)?;
    match order.status {
        OrderStatus::Pending => Ok(vec![OrderEvent::OrderCancelled {
            order_id: command.order_id,
            reason,
            cancelled_at: now,
        }]),
        OrderStatus::Cancelled => Err(OrderError::AlreadyCancelled),
        OrderStatus::Confirmed => Err(OrderError::InvalidTransition {
            from: OrderStatus::Confirmed,
            to: OrderStatus::Cancelled,
        }),
    }
}
