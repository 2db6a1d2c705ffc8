//! [`OrderError`]: why the Order aggregate refuses a command.
//!
//! Guarantees: every refusal is one variant, and [`OrderError::kind`] sorts it into the
//! category the HTTP layer maps to a status: not found (404), conflict (409) or
//! validation (422). Store or broker failures are never an `OrderError`; they belong to
//! the layers that do I/O.

use crate::order::OrderStatus;
use crate::validation::ValidationErrors;

/// A command the Order aggregate refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrderError {
    /// Creating an order whose stream already has events.
    #[error("the order already exists")]
    AlreadyExists,
    /// Any command other than create on an order that does not exist.
    #[error("the order does not exist")]
    NotFound,
    /// Confirming an order that is already confirmed (an error, not a no-op).
    #[error("the order is already confirmed")]
    AlreadyConfirmed,
    /// Cancelling an order that is already cancelled.
    #[error("the order is already cancelled")]
    AlreadyCancelled,
    /// Moving between statuses the life cycle does not allow (cancelled → confirmed,
    /// confirmed → cancelled).
    #[error("a {from} order cannot become {to}")]
    InvalidTransition {
        /// The current status.
        from: OrderStatus,
        /// The status the command asked for.
        to: OrderStatus,
    },
    /// Subscribing to an order that is no longer pending: nothing is left to push.
    #[error("a {status} order takes no new subscribers")]
    Closed {
        /// The order's status.
        status: OrderStatus,
    },
    /// The order already has the most subscribers it may have.
    #[error("an order has at most {max} subscribers")]
    TooManySubscribers {
        /// The limit, the buyer included.
        max: usize,
    },
    /// The sum of the lines does not fit in 64-bit minor units.
    #[error("the order total is too large")]
    TotalOverflow,
    /// Fields of the command are invalid (also used for the defensive re-checks in `decide`).
    #[error(transparent)]
    Validation(#[from] ValidationErrors),
}

/// The category of an [`OrderError`], for mapping to a protocol status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The order does not exist (HTTP 404).
    NotFound,
    /// The order's current state forbids the command (HTTP 409).
    Conflict,
    /// The command itself is invalid (HTTP 422, or 400).
    Validation,
}

impl OrderError {
    /// The category of this refusal.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::NotFound => ErrorKind::NotFound,
            Self::AlreadyExists
            | Self::AlreadyConfirmed
            | Self::AlreadyCancelled
            | Self::InvalidTransition { .. }
            | Self::Closed { .. }
            | Self::TooManySubscribers { .. } => ErrorKind::Conflict,
            Self::TotalOverflow | Self::Validation(_) => ErrorKind::Validation,
        }
    }

    /// Stable machine-readable code, for API error bodies.
    pub fn code(&self) -> &'static str {
        match self {
            Self::AlreadyExists => "already_exists",
            Self::NotFound => "not_found",
            Self::AlreadyConfirmed => "already_confirmed",
            Self::AlreadyCancelled => "already_cancelled",
            Self::InvalidTransition { .. } => "invalid_transition",
            Self::Closed { .. } => "order_closed",
            Self::TooManySubscribers { .. } => "too_many_subscribers",
            Self::TotalOverflow => "total_overflow",
            Self::Validation(_) => "validation",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validation::FieldError;

    #[test]
    fn each_refusal_has_the_category_the_http_layer_maps() {
        assert_eq!(OrderError::NotFound.kind(), ErrorKind::NotFound);
        for conflict in [
            OrderError::AlreadyExists,
            OrderError::AlreadyConfirmed,
            OrderError::AlreadyCancelled,
            OrderError::InvalidTransition {
                from: OrderStatus::Cancelled,
                to: OrderStatus::Confirmed,
            },
        ] {
            assert_eq!(conflict.kind(), ErrorKind::Conflict, "{conflict}");
        }
        let invalid = ValidationErrors::single(FieldError::new("reason", "too_long", "long"));
        assert_eq!(
            OrderError::Validation(invalid).kind(),
            ErrorKind::Validation
        );
        assert_eq!(OrderError::TotalOverflow.kind(), ErrorKind::Validation);
    }

    #[test]
    fn an_invalid_transition_says_where_from_and_where_to() {
        let error = OrderError::InvalidTransition {
            from: OrderStatus::Confirmed,
            to: OrderStatus::Cancelled,
        };
        assert_eq!(
            error.to_string(),
            "a confirmed order cannot become cancelled"
        );
    }
}
