//! The hub's limits and timings, with the SignalR defaults.
//!
//! Every buffer the hub keeps is bounded by one of these numbers: the outbound queue and the
//! unanswered invocations of each connection, the size of a message, and the negotiated
//! connections waiting for their WebSocket.

use std::time::Duration;

/// Limits and timings of a [`crate::PushHub`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubConfig {
    /// A Ping is sent when nothing else was sent for this long (SignalR default: 15 s).
    pub keep_alive_interval: Duration,
    /// A connection the client sent nothing on for this long is closed (default: 30 s, twice
    /// the clients' own keep-alive).
    pub client_timeout: Duration,
    /// The handshake must arrive this soon after the WebSocket opens.
    pub handshake_timeout: Duration,
    /// The largest hub message (one JSON record) a client may send, in bytes.
    pub max_message_bytes: usize,
    /// Messages waiting to be written to one connection; a push that finds it full closes
    /// that connection (a slow or dead client cannot hold up the others).
    pub outbound_queue_capacity: usize,
    /// Invocations a connection may leave unanswered at once before it is closed as overloaded.
    pub max_pending_invocations: usize,
    /// How long writing one message to a client may take before the connection is dropped.
    pub send_timeout: Duration,
    /// How long a negotiated connection id stays usable before its WebSocket arrives.
    pub negotiation_ttl: Duration,
    /// Negotiated connections waiting for their WebSocket, at most.
    pub max_pending_negotiations: usize,
    /// How long [`crate::PushHub::shutdown`] waits for connections to take their Close.
    pub shutdown_grace: Duration,
}

impl HubConfig {
    /// The default bound on how long a push waits for the clients' completions.
    pub const DEFAULT_ACK_TIMEOUT: Duration = Duration::from_secs(5);

    /// The largest WebSocket frame accepted: a frame may batch several records.
    pub(crate) fn max_frame_bytes(&self) -> usize {
        self.max_message_bytes.saturating_mul(4)
    }
}

impl Default for HubConfig {
    fn default() -> Self {
        Self {
            keep_alive_interval: Duration::from_secs(15),
            client_timeout: Duration::from_secs(30),
            handshake_timeout: Duration::from_secs(15),
            max_message_bytes: 32 * 1024,
            outbound_queue_capacity: 256,
            max_pending_invocations: 1024,
            send_timeout: Duration::from_secs(10),
            negotiation_ttl: Duration::from_secs(30),
            max_pending_negotiations: 10_000,
            shutdown_grace: Duration::from_secs(5),
        }
    }
}
