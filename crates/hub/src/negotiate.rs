//! Negotiated connections waiting for their WebSocket, and the negotiate response.
//!
//! Guarantees:
//! - version 0 answers `connectionId` only, and the WebSocket presents `id=<connectionId>`;
//!   version 1 (or higher requests) answers `connectionToken` too, and the WebSocket presents
//!   `id=<connectionToken>`, which is a secret never logged;
//! - only WebSockets with Text frames is offered; stateful reconnect (`useStatefulReconnect`)
//!   only to a client that asked for it at negotiate version 1 or higher, and the connection
//!   remembers it was offered;
//! - a negotiated id is bound to the user who negotiated it, usable once, and only for
//!   [`crate::HubConfig::negotiation_ttl`]; another user's token with that id finds nothing;
//! - one user holds at most [`crate::HubConfig::max_pending_negotiations_per_user`] live
//!   entries: a user who floods negotiate is refused alone (429), while everyone else keeps
//!   negotiating; the whole table is bounded by [`crate::HubConfig::max_pending_negotiations`]
//!   as a last resort (503). Expired entries free their place.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use serde::Serialize;
use tokio::time::Instant;

/// The highest negotiate protocol version spoken.
pub(crate) const MAX_NEGOTIATE_VERSION: u32 = 1;

/// The body of a successful negotiate response.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct NegotiateResponse {
    connection_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    connection_token: Option<String>,
    negotiate_version: u32,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    use_stateful_reconnect: bool,
    available_transports: [AvailableTransport; 1],
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct AvailableTransport {
    transport: &'static str,
    transfer_formats: [&'static str; 1],
}

/// A negotiated connection whose WebSocket has not arrived yet.
#[derive(Debug)]
struct Negotiated {
    connection_id: String,
    user_id: String,
    stateful_reconnect: bool,
    expires_at: Instant,
}

/// A negotiated connection whose WebSocket arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TakenNegotiation {
    /// The public connection id.
    pub(crate) connection_id: String,
    /// Whether stateful reconnect was offered (the handshake must still ask for version 2).
    pub(crate) stateful_reconnect: bool,
}

/// Why an `id=` cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum NegotiationError {
    /// Unknown, expired, already used, or another user's.
    #[error("no such connection")]
    UnknownConnection,
    /// The table is full of live negotiations.
    #[error("too many connections are being negotiated")]
    Full,
    /// This user has as many live negotiations as allowed.
    #[error("too many connections are being negotiated by this user")]
    UserFull,
}

/// The entries, and each user's keys in expiry order (the TTL is one for all, so insertion
/// order is expiry order).
#[derive(Debug, Default)]
struct Table {
    waiting: HashMap<String, Negotiated>,
    by_user: HashMap<String, VecDeque<(Instant, String)>>,
}

impl Table {
    /// Drops `user_id`'s expired entries; returns how many live ones remain.
    fn purge_user(&mut self, user_id: &str, now: Instant) -> usize {
        let Some(keys) = self.by_user.get_mut(user_id) else {
            return 0;
        };
        while keys
            .front()
            .is_some_and(|(expires_at, _)| *expires_at <= now)
        {
            if let Some((_, key)) = keys.pop_front() {
                self.waiting.remove(&key);
            }
        }
        let live = keys.len();
        if live == 0 {
            self.by_user.remove(user_id);
        }
        live
    }

    /// Drops every expired entry.
    fn purge_all(&mut self, now: Instant) {
        self.waiting
            .retain(|_, negotiated| negotiated.expires_at > now);
        self.by_user.retain(|_, keys| {
            keys.retain(|(expires_at, _)| *expires_at > now);
            !keys.is_empty()
        });
    }

    /// Removes the entry under `key` and its place in its user's list.
    fn remove(&mut self, key: &str) -> Option<Negotiated> {
        let negotiated = self.waiting.remove(key)?;
        if let Some(keys) = self.by_user.get_mut(&negotiated.user_id) {
            keys.retain(|(_, listed)| listed != key);
            if keys.is_empty() {
                self.by_user.remove(&negotiated.user_id);
            }
        }
        Some(negotiated)
    }
}

/// The table of negotiated connections, keyed by what the WebSocket presents as `id`.
#[derive(Debug)]
pub(crate) struct Negotiations {
    table: Mutex<Table>,
    ttl: Duration,
    capacity: usize,
    per_user: usize,
}

impl Negotiations {
    pub(crate) fn new(ttl: Duration, capacity: usize, per_user: usize) -> Self {
        Self {
            table: Mutex::new(Table::default()),
            ttl,
            capacity,
            per_user,
        }
    }

    /// Negotiates a connection for `user_id` at the version the client asked for (clamped to
    /// the highest spoken), with stateful reconnect if asked for and the version has tokens.
    pub(crate) fn negotiate(
        &self,
        requested_version: u32,
        user_id: &str,
        wants_stateful_reconnect: bool,
    ) -> Result<NegotiateResponse, NegotiationError> {
        let version = requested_version.min(MAX_NEGOTIATE_VERSION);
        let connection_id = new_id();
        let connection_token = (version >= 1).then(new_id);
        let stateful_reconnect = wants_stateful_reconnect && connection_token.is_some();
        let key = connection_token
            .clone()
            .unwrap_or_else(|| connection_id.clone());
        let now = Instant::now();
        {
            let mut table = self.lock();
            if table.purge_user(user_id, now) >= self.per_user {
                return Err(NegotiationError::UserFull);
            }
            if table.waiting.len() >= self.capacity {
                table.purge_all(now);
            }
            if table.waiting.len() >= self.capacity {
                return Err(NegotiationError::Full);
            }
            let expires_at = now + self.ttl;
            table
                .by_user
                .entry(user_id.to_owned())
                .or_default()
                .push_back((expires_at, key.clone()));
            table.waiting.insert(
                key,
                Negotiated {
                    connection_id: connection_id.clone(),
                    user_id: user_id.to_owned(),
                    stateful_reconnect,
                    expires_at,
                },
            );
        }
        Ok(NegotiateResponse {
            connection_id,
            connection_token,
            negotiate_version: version,
            use_stateful_reconnect: stateful_reconnect,
            available_transports: [AvailableTransport {
                transport: "WebSockets",
                transfer_formats: ["Text"],
            }],
        })
    }

    /// Takes the negotiated connection presented as `id` by `user_id`. Another user's attempt
    /// leaves the entry in place.
    pub(crate) fn take(
        &self,
        id: &str,
        user_id: &str,
    ) -> Result<TakenNegotiation, NegotiationError> {
        let mut table = self.lock();
        let Some(negotiated) = table.waiting.get(id) else {
            return Err(NegotiationError::UnknownConnection);
        };
        if negotiated.expires_at <= Instant::now() {
            table.remove(id);
            return Err(NegotiationError::UnknownConnection);
        }
        if negotiated.user_id != user_id {
            return Err(NegotiationError::UnknownConnection);
        }
        table
            .remove(id)
            .map(|negotiated| TakenNegotiation {
                connection_id: negotiated.connection_id,
                stateful_reconnect: negotiated.stateful_reconnect,
            })
            .ok_or(NegotiationError::UnknownConnection)
    }

    /// Forgets every negotiation (shutdown).
    pub(crate) fn clear(&self) {
        *self.lock() = Table::default();
    }

    fn lock(&self) -> MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A new random connection id or token (UUID v4: 122 random bits).
pub(crate) fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn taken(connection_id: &str, stateful_reconnect: bool) -> TakenNegotiation {
        TakenNegotiation {
            connection_id: connection_id.to_owned(),
            stateful_reconnect,
        }
    }

    #[test]
    fn stateful_reconnect_is_offered_only_when_asked_for_at_version_one() {
        let negotiations = Negotiations::new(Duration::from_secs(30), 10, 10);
        let old = body(&negotiations.negotiate(0, "alice", true).unwrap());
        assert!(
            old.get("useStatefulReconnect").is_none(),
            "version 0 has no token"
        );
        let asked = body(&negotiations.negotiate(1, "alice", true).unwrap());
        assert_eq!(asked["useStatefulReconnect"], true);
        let id = asked["connectionId"].as_str().unwrap();
        let token = asked["connectionToken"].as_str().unwrap();
        assert_eq!(negotiations.take(token, "alice"), Ok(taken(id, true)));
    }

    fn body(response: &NegotiateResponse) -> Value {
        serde_json::to_value(response).unwrap()
    }

    #[test]
    fn version_zero_answers_a_connection_id_that_the_websocket_presents() {
        let negotiations = Negotiations::new(Duration::from_secs(30), 10, 10);
        let response = body(&negotiations.negotiate(0, "alice", false).unwrap());
        assert_eq!(response["negotiateVersion"], 0);
        assert!(response.get("connectionToken").is_none());
        assert_eq!(
            response["availableTransports"],
            json!([{ "transport": "WebSockets", "transferFormats": ["Text"] }])
        );
        let id = response["connectionId"].as_str().unwrap();
        assert_eq!(negotiations.take(id, "alice"), Ok(taken(id, false)));
        assert_eq!(
            negotiations.take(id, "alice"),
            Err(NegotiationError::UnknownConnection),
            "an id is usable once"
        );
    }

    #[test]
    fn version_one_answers_a_token_that_the_websocket_presents_instead_of_the_id() {
        let negotiations = Negotiations::new(Duration::from_secs(30), 10, 10);
        let response = body(&negotiations.negotiate(7, "alice", false).unwrap());
        assert_eq!(response["negotiateVersion"], 1);
        let id = response["connectionId"].as_str().unwrap();
        let token = response["connectionToken"].as_str().unwrap();
        assert_ne!(id, token);
        assert!(response.get("useStatefulReconnect").is_none());
        assert_eq!(
            negotiations.take(id, "alice"),
            Err(NegotiationError::UnknownConnection)
        );
        assert_eq!(
            negotiations.take(token, "bob"),
            Err(NegotiationError::UnknownConnection)
        );
        assert_eq!(negotiations.take(token, "alice"), Ok(taken(id, false)));
    }

    #[tokio::test(start_paused = true)]
    async fn a_negotiated_id_expires_and_a_full_table_refuses_until_entries_expire() {
        let negotiations = Negotiations::new(Duration::from_secs(30), 1, 10);
        let first = body(&negotiations.negotiate(0, "alice", false).unwrap());
        assert_eq!(
            negotiations.negotiate(0, "alice", false).unwrap_err(),
            NegotiationError::Full
        );
        tokio::time::advance(Duration::from_secs(31)).await;
        let id = first["connectionId"].as_str().unwrap();
        assert_eq!(
            negotiations.take(id, "alice"),
            Err(NegotiationError::UnknownConnection)
        );
        assert!(negotiations.negotiate(0, "alice", false).is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn a_user_at_their_limit_is_refused_alone_until_their_entries_expire() {
        let negotiations = Negotiations::new(Duration::from_secs(30), 100, 3);
        for _ in 0..3 {
            negotiations.negotiate(1, "mallory", false).unwrap();
        }
        tokio::time::advance(Duration::from_secs(10)).await;
        let kept = body(&negotiations.negotiate(1, "alice", false).unwrap());
        assert_eq!(
            negotiations.negotiate(1, "mallory", false).unwrap_err(),
            NegotiationError::UserFull
        );
        tokio::time::advance(Duration::from_secs(21)).await;
        assert!(negotiations.negotiate(1, "mallory", false).is_ok());
        let token = kept["connectionToken"].as_str().unwrap();
        assert!(negotiations.take(token, "alice").is_ok());
        assert!(!negotiations.lock().by_user.contains_key("alice"));
    }
}
