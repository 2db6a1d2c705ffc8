//! Negotiated connections waiting for their WebSocket, and the negotiate response.
//!
//! Guarantees:
//! - version 0 answers `connectionId` only, and the WebSocket presents `id=<connectionId>`;
//!   version 1 (or higher requests) answers `connectionToken` too, and the WebSocket presents
//!   `id=<connectionToken>`, which is a secret never logged;
//! - only WebSockets with Text frames is offered; stateful reconnect never is;
//! - a negotiated id is bound to the user who negotiated it, usable once, and only for
//!   [`crate::HubConfig::negotiation_ttl`]; another user's token with that id finds nothing;
//! - the table is bounded by [`crate::HubConfig::max_pending_negotiations`].

use std::collections::HashMap;
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
    expires_at: Instant,
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
}

/// The table of negotiated connections, keyed by what the WebSocket presents as `id`.
#[derive(Debug)]
pub(crate) struct Negotiations {
    waiting: Mutex<HashMap<String, Negotiated>>,
    ttl: Duration,
    capacity: usize,
}

impl Negotiations {
    pub(crate) fn new(ttl: Duration, capacity: usize) -> Self {
        Self {
            waiting: Mutex::new(HashMap::new()),
            ttl,
            capacity,
        }
    }

    /// Negotiates a connection for `user_id` at the version the client asked for (clamped to
    /// the highest spoken).
    pub(crate) fn negotiate(
        &self,
        requested_version: u32,
        user_id: &str,
    ) -> Result<NegotiateResponse, NegotiationError> {
        let version = requested_version.min(MAX_NEGOTIATE_VERSION);
        let connection_id = new_id();
        let connection_token = (version >= 1).then(new_id);
        let key = connection_token
            .clone()
            .unwrap_or_else(|| connection_id.clone());
        let now = Instant::now();
        {
            let mut waiting = self.lock();
            if waiting.len() >= self.capacity {
                waiting.retain(|_, negotiated| negotiated.expires_at > now);
            }
            if waiting.len() >= self.capacity {
                return Err(NegotiationError::Full);
            }
            waiting.insert(
                key,
                Negotiated {
                    connection_id: connection_id.clone(),
                    user_id: user_id.to_owned(),
                    expires_at: now + self.ttl,
                },
            );
        }
        Ok(NegotiateResponse {
            connection_id,
            connection_token,
            negotiate_version: version,
            available_transports: [AvailableTransport {
                transport: "WebSockets",
                transfer_formats: ["Text"],
            }],
        })
    }

    /// Takes the negotiated connection presented as `id` by `user_id`; returns its public
    /// connection id. Another user's attempt leaves the entry in place.
    pub(crate) fn take(&self, id: &str, user_id: &str) -> Result<String, NegotiationError> {
        let mut waiting = self.lock();
        let Some(negotiated) = waiting.get(id) else {
            return Err(NegotiationError::UnknownConnection);
        };
        if negotiated.expires_at <= Instant::now() {
            waiting.remove(id);
            return Err(NegotiationError::UnknownConnection);
        }
        if negotiated.user_id != user_id {
            return Err(NegotiationError::UnknownConnection);
        }
        waiting
            .remove(id)
            .map(|negotiated| negotiated.connection_id)
            .ok_or(NegotiationError::UnknownConnection)
    }

    /// Forgets every negotiation (shutdown).
    pub(crate) fn clear(&self) {
        self.lock().clear();
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Negotiated>> {
        self.waiting.lock().unwrap_or_else(PoisonError::into_inner)
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

    fn body(response: &NegotiateResponse) -> Value {
        serde_json::to_value(response).unwrap()
    }

    #[test]
    fn version_zero_answers_a_connection_id_that_the_websocket_presents() {
        let negotiations = Negotiations::new(Duration::from_secs(30), 10);
        let response = body(&negotiations.negotiate(0, "alice").unwrap());
        assert_eq!(response["negotiateVersion"], 0);
        assert!(response.get("connectionToken").is_none());
        assert_eq!(
            response["availableTransports"],
            json!([{ "transport": "WebSockets", "transferFormats": ["Text"] }])
        );
        let id = response["connectionId"].as_str().unwrap();
        assert_eq!(negotiations.take(id, "alice"), Ok(id.to_owned()));
        assert_eq!(
            negotiations.take(id, "alice"),
            Err(NegotiationError::UnknownConnection),
            "an id is usable once"
        );
    }

    #[test]
    fn version_one_answers_a_token_that_the_websocket_presents_instead_of_the_id() {
        let negotiations = Negotiations::new(Duration::from_secs(30), 10);
        let response = body(&negotiations.negotiate(7, "alice").unwrap());
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
        assert_eq!(negotiations.take(token, "alice"), Ok(id.to_owned()));
    }

    #[tokio::test(start_paused = true)]
    async fn a_negotiated_id_expires_and_a_full_table_refuses_until_entries_expire() {
        let negotiations = Negotiations::new(Duration::from_secs(30), 1);
        let first = body(&negotiations.negotiate(0, "alice").unwrap());
        assert_eq!(
            negotiations.negotiate(0, "alice").unwrap_err(),
            NegotiationError::Full
        );
        tokio::time::advance(Duration::from_secs(31)).await;
        let id = first["connectionId"].as_str().unwrap();
        assert_eq!(
            negotiations.take(id, "alice"),
            Err(NegotiationError::UnknownConnection)
        );
        assert!(negotiations.negotiate(0, "alice").is_ok());
    }
}
