//! Who follows an order: the rules of `AddSubscription`.
//!
//! Guarantees:
//! * a subscriber id has the form of an OIDC subject: 1..=255 visible ASCII characters
//!   (`!`..=`~`, no spaces), since pushes are addressed by the `sub` of a token; anything
//!   else is a validation error on `subscriberId` (`invalid_subscriber_id`);
//! * subscribing someone who already follows the order yields no event, in any status, so
//!   a retried request still succeeds;
//! * only a `pending` order takes new subscribers: a confirmed or cancelled one has no
//!   update left to push (409 `order_closed`);
//! * an order has at most [`MAX_SUBSCRIBERS`] subscribers, the buyer included (409
//!   `too_many_subscribers`), so its state and every push stay bounded.

use super::{Order, OrderStatus};
use crate::command::AddSubscription;
use crate::error::OrderError;
use crate::event::OrderEvent;
use crate::validation::{FieldError, ValidationErrors};

/// The most subscribers an order has, its buyer included.
pub const MAX_SUBSCRIBERS: usize = 32;
/// The longest subscriber id (OpenID Connect Core §2: a `sub` has at most 255 ASCII characters).
pub const MAX_SUBSCRIBER_ID_CHARS: usize = 255;

pub(super) fn subscribe(
    order: &Order,
    command: &AddSubscription,
) -> Result<Vec<OrderEvent>, OrderError> {
    let subscriber = command.subscriber_id.as_str();
    let well_formed = !subscriber.is_empty()
        && subscriber.len() <= MAX_SUBSCRIBER_ID_CHARS
        && subscriber.bytes().all(|byte| byte.is_ascii_graphic());
    if !well_formed {
        return Err(ValidationErrors::single(FieldError::new(
            "subscriberId",
            "invalid_subscriber_id",
            format!(
                "a subscriber id is a user id: 1 to {MAX_SUBSCRIBER_ID_CHARS} visible ASCII \
                 characters without spaces"
            ),
        ))
        .into());
    }
    if order.is_subscribed(&command.subscriber_id) {
        return Ok(Vec::new());
    }
    if order.status() != OrderStatus::Pending {
        return Err(OrderError::Closed {
            status: order.status(),
        });
    }
    if order.subscribers().len() >= MAX_SUBSCRIBERS {
        return Err(OrderError::TooManySubscribers {
            max: MAX_SUBSCRIBERS,
        });
    }
    Ok(vec![OrderEvent::OrderSubscriptionAdded {
        order_id: command.order_id,
        subscriber_id: command.subscriber_id.clone(),
    }])
}
