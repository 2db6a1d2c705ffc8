//! The stored form of [`OrderEvent`]: type name, schema version and JSON body.
//!
//! Guarantees: [`OrderEvent::to_json`] never fails and writes the current schema of each type;
//! [`OrderEvent::decode`] reads it back to an equal event (and reads older versions through the
//! upcaster chain), validating every value on the way in; anything else is a typed
//! [`EventDecodeError`]. Decoding checks shapes and values, not business rules: an event is a
//! fact from the past, and the rules of that day applied.
//!
//! Bodies (version 1 of each type):
//! - `OrderCreated`: `{"orderId", "buyerId", "currency", "lines": [{"sku", "name", "quantity",
//!   "unitPriceMinor"}], "totalMinor", "createdAt"}`
//! - `OrderSubscriptionAdded`: `{"orderId", "subscriberId"}`
//! - `OrderConfirmed`: `{"orderId", "confirmedAt"}`
//! - `OrderCancelled`: `{"orderId", "reason" (string or null), "cancelledAt"}`

use serde::Deserialize;
use serde_json::{Map, Value};
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

use super::OrderEvent;
use super::upcast::{UPCASTERS, Upcaster, upcast};
use crate::currency::Currency;
use crate::ids::{OrderId, UserId};
use crate::line::{ItemName, OrderLine, Quantity, Sku};
use crate::money::Money;

const ORDER_CREATED: &str = "OrderCreated";
const ORDER_SUBSCRIPTION_ADDED: &str = "OrderSubscriptionAdded";
const ORDER_CONFIRMED: &str = "OrderConfirmed";
const ORDER_CANCELLED: &str = "OrderCancelled";

const ORDER_CREATED_VERSION: u16 = 1;
const ORDER_SUBSCRIPTION_ADDED_VERSION: u16 = 1;
const ORDER_CONFIRMED_VERSION: u16 = 1;
const ORDER_CANCELLED_VERSION: u16 = 1;

/// Why a stored event cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventDecodeError {
    /// The type name is not an order event.
    #[error("unknown event type `{event_type}`")]
    UnknownType {
        /// The stored type name.
        event_type: String,
    },
    /// Written by newer code than this one.
    #[error("{event_type} version {version} is newer than this code reads (up to {current})")]
    FutureVersion {
        /// The stored type name.
        event_type: String,
        /// The stored version.
        version: u16,
        /// The newest version this code reads.
        current: u16,
    },
    /// No upcaster lifts this version.
    #[error("no upcaster lifts {event_type} from version {from_version}")]
    MissingUpcaster {
        /// The stored type name.
        event_type: String,
        /// The version without a next step.
        from_version: u16,
    },
    /// An upcaster refused the body.
    #[error("upcasting {event_type} from version {from_version} failed: {reason}")]
    UpcastFailed {
        /// The stored type name.
        event_type: String,
        /// The version the failing step reads.
        from_version: u16,
        /// What was wrong.
        reason: String,
    },
    /// The (upcast) body does not match the current schema or holds an invalid value.
    #[error("invalid {event_type} body: {reason}")]
    InvalidBody {
        /// The stored type name.
        event_type: String,
        /// What was wrong.
        reason: String,
    },
}

impl OrderEvent {
    /// The stored type name: `OrderCreated`, `OrderSubscriptionAdded`, `OrderConfirmed` or
    /// `OrderCancelled`.
    pub fn event_type(&self) -> &'static str {
        match self {
            Self::OrderCreated { .. } => ORDER_CREATED,
            Self::OrderSubscriptionAdded { .. } => ORDER_SUBSCRIPTION_ADDED,
            Self::OrderConfirmed { .. } => ORDER_CONFIRMED,
            Self::OrderCancelled { .. } => ORDER_CANCELLED,
        }
    }

    /// The schema version [`OrderEvent::to_json`] writes for this type.
    pub fn schema_version(&self) -> u16 {
        match self {
            Self::OrderCreated { .. } => ORDER_CREATED_VERSION,
            Self::OrderSubscriptionAdded { .. } => ORDER_SUBSCRIPTION_ADDED_VERSION,
            Self::OrderConfirmed { .. } => ORDER_CONFIRMED_VERSION,
            Self::OrderCancelled { .. } => ORDER_CANCELLED_VERSION,
        }
    }

    /// The JSON body, in the current schema of the type.
    pub fn to_json(&self) -> Value {
        let mut body = Map::new();
        body.insert("orderId".into(), self.order_id().to_string().into());
        match self {
            Self::OrderCreated {
                buyer_id,
                currency,
                lines,
                total,
                created_at,
                ..
            } => {
                body.insert("buyerId".into(), buyer_id.as_str().into());
                body.insert("currency".into(), currency.code().into());
                let lines = lines.iter().map(line_json).collect();
                body.insert("lines".into(), Value::Array(lines));
                body.insert("totalMinor".into(), total.minor_units().into());
                body.insert("createdAt".into(), timestamp_json(*created_at));
            }
            Self::OrderSubscriptionAdded { subscriber_id, .. } => {
                body.insert("subscriberId".into(), subscriber_id.as_str().into());
            }
            Self::OrderConfirmed { confirmed_at, .. } => {
                body.insert("confirmedAt".into(), timestamp_json(*confirmed_at));
            }
            Self::OrderCancelled {
                reason,
                cancelled_at,
                ..
            } => {
                body.insert("reason".into(), reason.clone().into());
                body.insert("cancelledAt".into(), timestamp_json(*cancelled_at));
            }
        }
        Value::Object(body)
    }

    /// Reads a stored event, lifting old versions with the production upcasters.
    /// A body at the current version is read where it lies (every subscription decodes
    /// every event, so no copy of it is made); only an older one is copied to be lifted.
    pub fn decode(
        event_type: &str,
        schema_version: u16,
        data: &Value,
    ) -> Result<OrderEvent, EventDecodeError> {
        OrderEvent::decode_with(UPCASTERS, event_type, schema_version, data)
    }

    /// [`OrderEvent::decode`] with an explicit upcaster table (tests, migrations).
    pub fn decode_with(
        upcasters: &[Upcaster],
        event_type: &str,
        schema_version: u16,
        data: &Value,
    ) -> Result<OrderEvent, EventDecodeError> {
        let current = current_version(event_type).ok_or_else(|| EventDecodeError::UnknownType {
            event_type: event_type.to_owned(),
        })?;
        let lifted;
        let data = if schema_version == current {
            data
        } else {
            lifted = upcast(upcasters, event_type, schema_version, current, data.clone())?;
            &lifted
        };
        let invalid = |reason: String| EventDecodeError::InvalidBody {
            event_type: event_type.to_owned(),
            reason,
        };
        let body =
            CurrentBody::parse(event_type, data).map_err(|error| invalid(error.to_string()))?;
        body.into_event().map_err(invalid)
    }
}

fn current_version(event_type: &str) -> Option<u16> {
    match event_type {
        ORDER_CREATED => Some(ORDER_CREATED_VERSION),
        ORDER_SUBSCRIPTION_ADDED => Some(ORDER_SUBSCRIPTION_ADDED_VERSION),
        ORDER_CONFIRMED => Some(ORDER_CONFIRMED_VERSION),
        ORDER_CANCELLED => Some(ORDER_CANCELLED_VERSION),
        _ => None,
    }
}

fn line_json(line: &OrderLine) -> Value {
    let mut body = Map::new();
    body.insert("sku".into(), line.sku.as_str().into());
    body.insert("name".into(), line.name.as_str().into());
    body.insert("quantity".into(), line.quantity.get().into());
    body.insert(
        "unitPriceMinor".into(),
        line.unit_price.minor_units().into(),
    );
    Value::Object(body)
}

/// RFC 3339 in UTC. A stamp RFC 3339 cannot express (a year before 0000) is written in the
/// `time` crate's display form instead, which `decode` refuses; `decide` never produces one.
fn timestamp_json(at: OffsetDateTime) -> Value {
    let utc = at.checked_to_offset(UtcOffset::UTC).unwrap_or(at);
    match utc.format(&Rfc3339) {
        Ok(text) => Value::String(text),
        Err(_) => Value::String(utc.to_string()),
    }
}

/// The current schema of each body, as read from JSON.
#[derive(Debug)]
enum CurrentBody {
    Created(CreatedV1),
    SubscriptionAdded(SubscriptionAddedV1),
    Confirmed(ConfirmedV1),
    Cancelled(CancelledV1),
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreatedV1 {
    order_id: OrderId,
    buyer_id: UserId,
    currency: Currency,
    lines: Vec<LineV1>,
    total_minor: i64,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct LineV1 {
    sku: Sku,
    name: ItemName,
    quantity: Quantity,
    unit_price_minor: i64,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SubscriptionAddedV1 {
    order_id: OrderId,
    subscriber_id: UserId,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ConfirmedV1 {
    order_id: OrderId,
    #[serde(with = "time::serde::rfc3339")]
    confirmed_at: OffsetDateTime,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CancelledV1 {
    order_id: OrderId,
    #[serde(default)]
    reason: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    cancelled_at: OffsetDateTime,
}

impl CurrentBody {
    fn parse(event_type: &str, data: &Value) -> Result<CurrentBody, serde_json::Error> {
        Ok(match event_type {
            ORDER_CREATED => Self::Created(Deserialize::deserialize(data)?),
            ORDER_SUBSCRIPTION_ADDED => Self::SubscriptionAdded(Deserialize::deserialize(data)?),
            ORDER_CONFIRMED => Self::Confirmed(Deserialize::deserialize(data)?),
            ORDER_CANCELLED => Self::Cancelled(Deserialize::deserialize(data)?),
            other => {
                let message = format!("no body schema for `{other}`");
                return Err(serde::de::Error::custom(message));
            }
        })
    }

    fn into_event(self) -> Result<OrderEvent, String> {
        Ok(match self {
            Self::Created(body) => {
                let lines = body
                    .lines
                    .into_iter()
                    .map(|line| {
                        let minor_units = line.unit_price_minor;
                        OrderLine::from_minor_units(
                            line.sku,
                            line.name,
                            line.quantity,
                            minor_units,
                            body.currency,
                        )
                        .map_err(|error| format!("{minor_units} minor units: {error}"))
                    })
                    .collect::<Result<Vec<_>, String>>()?;
                OrderEvent::OrderCreated {
                    order_id: body.order_id,
                    buyer_id: body.buyer_id,
                    currency: body.currency,
                    lines,
                    total: Money::from_minor_units(body.total_minor, body.currency)
                        .map_err(|error| format!("{} minor units: {error}", body.total_minor))?,
                    created_at: body.created_at,
                }
            }
            Self::SubscriptionAdded(body) => OrderEvent::OrderSubscriptionAdded {
                order_id: body.order_id,
                subscriber_id: body.subscriber_id,
            },
            Self::Confirmed(body) => OrderEvent::OrderConfirmed {
                order_id: body.order_id,
                confirmed_at: body.confirmed_at,
            },
            Self::Cancelled(body) => OrderEvent::OrderCancelled {
                order_id: body.order_id,
                reason: body.reason,
                cancelled_at: body.cancelled_at,
            },
        })
    }
}

#[cfg(test)]
mod tests;
