//! Who is asking, and the ids of their request.
//!
//! A [`RequestContext`] travels with every request through the mediator. It
//! carries the authenticated [`Actor`], the correlation id shared by every
//! event and message the request causes, and the optional idempotency key.
//!
//! **Idempotency.** With a key, every id the request mints (order id,
//! command id, event ids) is derived from (user, key, label) with UUID v5, so
//! a retried request produces exactly the same ids, and the event store's
//! duplicate-id check turns the retry into a no-op that returns the first
//! outcome. Without a key, ids are fresh UUID v7s.

use orderflow_domain::UserId;
use uuid::Uuid;

/// The authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub user_id: UserId,
    pub is_admin: bool,
    pub is_buyer: bool,
}

/// A client-chosen key that makes a request safe to retry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

/// Why a text is not an [`IdempotencyKey`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("an idempotency key is 1 to 255 printable ASCII characters")]
pub struct IdempotencyKeyError;

impl IdempotencyKey {
    pub fn parse(text: &str) -> Result<Self, IdempotencyKeyError> {
        let valid = !text.is_empty()
            && text.len() <= 255
            && text.bytes().all(|b| b.is_ascii_graphic() || b == b' ');
        if valid {
            Ok(IdempotencyKey(text.to_owned()))
        } else {
            Err(IdempotencyKeyError)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Namespace of ids derived from idempotency keys.
const IDEMPOTENT_IDS: Uuid = Uuid::from_u128(0x6f72_6465_7266_6c6f_7769_6465_6d70_6f74);

/// Everything a request carries besides its body.
#[derive(Debug, Clone)]
pub struct RequestContext {
    pub actor: Actor,
    pub correlation_id: Uuid,
    pub idempotency_key: Option<IdempotencyKey>,
}

impl RequestContext {
    pub fn new(actor: Actor) -> Self {
        RequestContext {
            actor,
            correlation_id: Uuid::now_v7(),
            idempotency_key: None,
        }
    }

    /// An id for `label` within this request: derived from the idempotency
    /// key when there is one (stable across retries), fresh otherwise.
    pub fn id_for(&self, label: &str) -> Uuid {
        match &self.idempotency_key {
            Some(key) => {
                let name = format!("{}\n{}\n{label}", self.actor.user_id, key.as_str());
                Uuid::new_v5(&IDEMPOTENT_IDS, name.as_bytes())
            }
            None => Uuid::now_v7(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context(user: &str, key: Option<&str>) -> RequestContext {
        RequestContext {
            actor: Actor {
                user_id: UserId::parse(user).unwrap(),
                is_admin: false,
                is_buyer: true,
            },
            correlation_id: Uuid::now_v7(),
            idempotency_key: key.map(|k| IdempotencyKey::parse(k).unwrap()),
        }
    }

    #[test]
    fn ids_derived_from_a_key_are_stable_per_user_and_label() {
        let first = context("alice", Some("k-1"));
        let retry = context("alice", Some("k-1"));
        assert_eq!(first.id_for("order"), retry.id_for("order"));
        assert_ne!(first.id_for("order"), first.id_for("event-0"));
        assert_ne!(
            first.id_for("order"),
            context("bob", Some("k-1")).id_for("order")
        );
    }

    #[test]
    fn without_a_key_every_id_is_fresh() {
        let request = context("alice", None);
        assert_ne!(request.id_for("order"), request.id_for("order"));
    }

    #[test]
    fn idempotency_keys_are_short_printable_ascii() {
        assert!(IdempotencyKey::parse("3f1c-retry 1").is_ok());
        assert!(IdempotencyKey::parse("").is_err());
        assert!(IdempotencyKey::parse(&"k".repeat(256)).is_err());
        assert!(IdempotencyKey::parse("tab\there").is_err());
    }
}
