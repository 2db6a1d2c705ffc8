//! What became of one push, connection by connection.
//!
//! Every live connection of every distinct user asked for appears exactly once: delivered,
//! timed out, failed, or unacknowledged; a user without a live connection appears once in `not_connected`.

use std::collections::BTreeSet;

use serde_json::Value;

/// One connection of one user.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnectionRef {
    /// The token's subject.
    pub user_id: String,
    /// The public connection id (never the secret connection token).
    pub connection_id: String,
}

/// A connection that acknowledged the update with a completion.
#[derive(Debug, Clone, PartialEq)]
pub struct AcknowledgedPush {
    /// Who acknowledged.
    pub connection: ConnectionRef,
    /// The handler's return value; `None` when it returned nothing (the JS client's
    /// "Client didn't provide a result." error), or the completion carried no result.
    pub result: Option<Value>,
}

/// A connection that did not acknowledge the update.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryFailure {
    /// Whose connection.
    pub connection: ConnectionRef,
    /// Why.
    pub reason: FailureReason,
}

/// Why a connection did not acknowledge an update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FailureReason {
    /// The client's handler failed: its completion carried this error.
    ClientError(String),
    /// The connection closed before it answered.
    Disconnected,
    /// The connection's outbound queue or its unanswered invocations were full; the
    /// connection is being closed.
    Overloaded,
}

/// The outcome of [`crate::PushHub::push`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PushReport {
    /// Connections that answered with a completion (a result, or no result).
    pub delivered: Vec<AcknowledgedPush>,
    /// Connections that did not answer within the acknowledgement timeout.
    pub timed_out: Vec<ConnectionRef>,
    /// Connections that answered with an error, closed, or were overloaded.
    pub failed: Vec<DeliveryFailure>,
    /// Connections the update was written to without an `invocationId`, awaited by nobody:
    /// clients that do not answer client results (`signalrcore`, older clients), or every
    /// connection past the hub's bound on awaited acknowledgements.
    pub unacknowledged: Vec<ConnectionRef>,
    /// Users asked for who had no live connection on this hub.
    pub not_connected: Vec<String>,
}

impl PushReport {
    /// The users at least one of whose connections acknowledged the update.
    pub fn users_reached(&self) -> BTreeSet<&str> {
        self.delivered
            .iter()
            .map(|delivery| delivery.connection.user_id.as_str())
            .collect()
    }

    /// True when every live connection asked for acknowledged the update.
    pub fn every_connection_acknowledged(&self) -> bool {
        self.timed_out.is_empty() && self.failed.is_empty() && self.unacknowledged.is_empty()
    }
}
