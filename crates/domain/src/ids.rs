//! Identifiers: [`OrderId`] and [`UserId`].
//!
//! Guarantees: an `OrderId` is never the nil UUID and always prints (and names its stream) as
//! a hyphenated lowercase UUID; a `UserId` (the token's `sub`) is 1..=255 characters, has no
//! control characters and is not blank. Both validate again when deserialized.

use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The identity of one order; its events live in the stream `order-{id}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct OrderId(Uuid);

/// Why a text or UUID is not an [`OrderId`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrderIdError {
    /// Not UUID text.
    #[error("an order id is a UUID")]
    Malformed,
    /// The all-zero UUID.
    #[error("an order id cannot be the nil UUID")]
    Nil,
    /// Not of the form `order-{hyphenated lowercase uuid}`.
    #[error("`{0}` is not an order stream name")]
    NotAStreamName(String),
}

impl OrderIdError {
    /// Stable machine-readable code, for API error bodies.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Malformed => "malformed",
            Self::Nil => "nil_uuid",
            Self::NotAStreamName(_) => "not_a_stream_name",
        }
    }
}

const STREAM_PREFIX: &str = "order-";

impl OrderId {
    /// Wraps a UUID minted by the caller (the domain never generates ids); refuses the nil UUID.
    pub fn from_uuid(uuid: Uuid) -> Result<OrderId, OrderIdError> {
        if uuid.is_nil() {
            return Err(OrderIdError::Nil);
        }
        Ok(OrderId(uuid))
    }

    /// Parses any UUID text (hyphenated, simple, braced or URN form); refuses the nil UUID.
    pub fn parse(text: &str) -> Result<OrderId, OrderIdError> {
        let uuid = Uuid::parse_str(text).map_err(|_| OrderIdError::Malformed)?;
        OrderId::from_uuid(uuid)
    }

    /// Recovers the id from its stream name; only the exact form [`OrderId::stream_name`]
    /// writes is accepted.
    pub fn from_stream_name(stream_name: &str) -> Result<OrderId, OrderIdError> {
        let not_a_stream_name = || OrderIdError::NotAStreamName(stream_name.to_owned());
        let id = stream_name
            .strip_prefix(STREAM_PREFIX)
            .ok_or_else(not_a_stream_name)?;
        let order_id = OrderId::parse(id).map_err(|_| not_a_stream_name())?;
        if order_id.stream_name() != stream_name {
            return Err(not_a_stream_name());
        }
        Ok(order_id)
    }

    /// The event stream holding this order's events: `order-{hyphenated lowercase uuid}`.
    pub fn stream_name(&self) -> String {
        format!("{STREAM_PREFIX}{self}")
    }

    /// The underlying UUID.
    pub fn as_uuid(&self) -> Uuid {
        self.0
    }
}

impl fmt::Display for OrderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0.hyphenated(), f)
    }
}

impl TryFrom<String> for OrderId {
    type Error = OrderIdError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        OrderId::parse(&value)
    }
}

impl From<OrderId> for String {
    fn from(value: OrderId) -> Self {
        value.to_string()
    }
}

/// A user, identified by the `sub` claim of their access token.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct UserId(String);

/// Why a text is not a [`UserId`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UserIdError {
    /// The empty string.
    #[error("a user id is required")]
    Empty,
    /// More than [`UserId::MAX_CHARS`] characters.
    #[error("a user id has at most {max} characters")]
    TooLong {
        /// The limit.
        max: usize,
    },
    /// Contains a control character.
    #[error("a user id cannot contain control characters")]
    ControlCharacter,
    /// Only whitespace.
    #[error("a user id cannot be blank")]
    Blank,
}

impl UserIdError {
    /// Stable machine-readable code, for API error bodies.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Empty => "empty",
            Self::TooLong { .. } => "too_long",
            Self::ControlCharacter => "control_character",
            Self::Blank => "blank",
        }
    }
}

impl UserId {
    /// Longest accepted user id, in characters.
    pub const MAX_CHARS: usize = 255;

    /// Validates a `sub` claim; the text is kept exactly as given (not trimmed).
    pub fn parse(text: &str) -> Result<UserId, UserIdError> {
        if text.is_empty() {
            return Err(UserIdError::Empty);
        }
        if text.chars().count() > Self::MAX_CHARS {
            return Err(UserIdError::TooLong {
                max: Self::MAX_CHARS,
            });
        }
        if text.chars().any(char::is_control) {
            return Err(UserIdError::ControlCharacter);
        }
        if text.chars().all(char::is_whitespace) {
            return Err(UserIdError::Blank);
        }
        Ok(UserId(text.to_owned()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for UserId {
    type Error = UserIdError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        UserId::parse(&value)
    }
}

impl From<UserId> for String {
    fn from(value: UserId) -> Self {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "0190a6e2-7c1b-7d3e-9f00-1234567890ab";

    #[test]
    fn an_order_id_accepts_any_uuid_text_and_prints_it_hyphenated_lowercase() {
        let upper = OrderId::parse(&SAMPLE.to_uppercase()).expect("valid");
        let simple = OrderId::parse(&SAMPLE.replace('-', "")).expect("valid");
        assert_eq!(upper, simple);
        assert_eq!(upper.to_string(), SAMPLE);
        assert_eq!(upper.stream_name(), format!("order-{SAMPLE}"));
    }

    #[test]
    fn the_nil_uuid_and_garbage_are_not_order_ids() {
        assert_eq!(
            OrderId::parse(&Uuid::nil().to_string()),
            Err(OrderIdError::Nil)
        );
        assert_eq!(OrderId::from_uuid(Uuid::nil()), Err(OrderIdError::Nil));
        assert_eq!(OrderId::parse("not-a-uuid"), Err(OrderIdError::Malformed));
        assert_eq!(OrderId::parse(""), Err(OrderIdError::Malformed));
    }

    #[test]
    fn a_stream_name_round_trips_and_only_the_canonical_form_is_accepted() {
        let id = OrderId::parse(SAMPLE).expect("valid");
        assert_eq!(OrderId::from_stream_name(&id.stream_name()), Ok(id));
        for bad in [
            SAMPLE.to_owned(),
            format!("order-{}", SAMPLE.to_uppercase()),
            format!("order-{}", SAMPLE.replace('-', "")),
            format!("orders-{SAMPLE}"),
            "order-".to_owned(),
        ] {
            assert!(
                matches!(
                    OrderId::from_stream_name(&bad),
                    Err(OrderIdError::NotAStreamName(_))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn order_ids_deserialize_only_when_valid() {
        let id: OrderId = serde_json::from_value(serde_json::json!(SAMPLE)).expect("valid");
        assert_eq!(
            serde_json::to_value(id).expect("serialize"),
            serde_json::json!(SAMPLE)
        );
        let nil = serde_json::json!(Uuid::nil().to_string());
        assert!(serde_json::from_value::<OrderId>(nil).is_err());
    }

    #[test]
    fn a_user_id_is_kept_exactly_as_the_token_says() {
        let id = UserId::parse(" alice ").expect("valid");
        assert_eq!(id.as_str(), " alice ");
        assert!(UserId::parse(&"é".repeat(255)).is_ok());
    }

    #[test]
    fn empty_blank_long_or_control_user_ids_are_rejected() {
        assert_eq!(UserId::parse(""), Err(UserIdError::Empty));
        assert_eq!(UserId::parse("   "), Err(UserIdError::Blank));
        assert_eq!(UserId::parse("al\nice"), Err(UserIdError::ControlCharacter));
        assert_eq!(
            UserId::parse(&"a".repeat(256)),
            Err(UserIdError::TooLong { max: 255 })
        );
        assert!(serde_json::from_value::<UserId>(serde_json::json!("")).is_err());
    }
}
