//! The hub's limits and timings, with the SignalR defaults.
//!
//! Every buffer the hub keeps is bounded by one of these numbers: each connection's outgoing
//! buffer (messages and bytes) and unanswered invocations, the size of a message, the
//! acknowledgements awaited across the whole hub, the messages kept for a stateful reconnect,
//! and the negotiated and live connections —
//! per user first, so that one user exhausts only their own share, and globally as a last
//! resort.

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
    /// that connection with an error (a slow or dead client cannot hold up the others).
    pub outbound_queue_capacity: usize,
    /// Bytes waiting to be written to one connection, at most; over it, as over
    /// [`Self::outbound_queue_capacity`], the connection is closed with an error.
    pub outbound_queue_bytes: usize,
    /// Invocations a connection may leave unanswered at once before it is closed as overloaded.
    pub max_pending_invocations: usize,
    /// Acknowledgements awaited at once across the whole hub; past it a push is still written
    /// to the connection at once, but not awaited (reported `unacknowledged`).
    pub max_pending_acknowledgements: usize,
    /// A connection that has never answered an invocation and let this many pushes in a row
    /// time out is taken for a client without client results (`signalrcore`, older
    /// clients): its later pushes are sent without an `invocationId` and not awaited, until it
    /// answers one.
    pub unanswered_pushes_before_no_ack: u32,
    /// How long writing one message to a client may take before the connection is dropped.
    pub send_timeout: Duration,
    /// How long a negotiated connection id stays usable before its WebSocket arrives.
    pub negotiation_ttl: Duration,
    /// Negotiated connections waiting for their WebSocket, at most, all users together.
    pub max_pending_negotiations: usize,
    /// Negotiated connections one user may have waiting for their WebSocket.
    pub max_pending_negotiations_per_user: usize,
    /// Live connections, all users together.
    pub max_connections: usize,
    /// Live connections (tabs) of one user.
    pub max_connections_per_user: usize,
    /// How long [`crate::PushHub::shutdown`] waits for connections to take their Close.
    pub shutdown_grace: Duration,
    /// Stateful reconnect: how long a connection whose socket dropped without a Close stays
    /// resumable (SignalR default: 15 s). Pushes meanwhile are kept for it, within the bounds.
    pub disconnect_timeout: Duration,
    /// Stateful reconnect: bytes of sent messages kept until the client acknowledges them
    /// (SignalR default: 100,000). At the bound, sending waits for an `Ack` — pushes stay in
    /// the outgoing buffer — for at most [`Self::send_timeout`], then the connection is closed
    /// with an error.
    pub stateful_reconnect_buffer_bytes: usize,
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
            outbound_queue_bytes: 1024 * 1024,
            max_pending_invocations: 1024,
            max_pending_acknowledgements: 100_000,
            unanswered_pushes_before_no_ack: 2,
            send_timeout: Duration::from_secs(10),
            negotiation_ttl: Duration::from_secs(30),
            max_pending_negotiations: 10_000,
            max_pending_negotiations_per_user: 50,
            max_connections: 100_000,
            max_connections_per_user: 50,
            shutdown_grace: Duration::from_secs(5),
            disconnect_timeout: Duration::from_secs(15),
            stateful_reconnect_buffer_bytes: 100_000,
        }
    }
}
