//! Who is connected: user id → live connections, and each connection's bounded mailbox.
//!
//! Guarantees:
//! - a connection is listed only between the end of its handshake and the end of its task,
//!   so nothing is ever queued to a connection before its handshake was answered;
//! - queuing never waits: a full outbound queue or too many unanswered invocations fail the
//!   push for that connection at once and ask the connection to close;
//! - once a connection has ended, every invocation still waiting for its completion is
//!   answered "disconnected" immediately (its sender is dropped), and no new one is accepted;
//! - once shutdown has begun, no connection is admitted any more.
//!
//! Locks are `std` mutexes held for map operations only, never across an `.await`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::{mpsc, oneshot, watch};

use crate::protocol::{self, CompletionOutcome, ProtocolError};
use crate::report::{ConnectionRef, FailureReason};

/// Why the hub closes a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CloseCause {
    /// The hub is shutting down: the client may reconnect (to another instance).
    Shutdown,
    /// The client did not keep up with its pushes.
    Overloaded,
    /// Nothing arrived from the client within the client timeout.
    ClientTimeout,
    /// The access token the connection was opened with has expired.
    TokenExpired,
    /// The client broke the protocol.
    Protocol(ProtocolError),
}

impl CloseCause {
    /// The `error` of the Close message.
    pub(crate) fn error_text(&self) -> Option<String> {
        match self {
            Self::Shutdown => None,
            Self::Overloaded => Some(
                "the connection was closed because it could not keep up with its messages".into(),
            ),
            Self::ClientTimeout => Some(
                "the connection was closed because the client sent nothing within the timeout"
                    .into(),
            ),
            Self::TokenExpired => Some("the access token has expired".into()),
            Self::Protocol(error) => Some(error.to_string()),
        }
    }

    /// The Close message's `allowReconnect`: true for conditions a new connection may not
    /// meet again; false when the client or its credentials are at fault.
    pub(crate) fn allow_reconnect(&self) -> bool {
        matches!(
            self,
            Self::Shutdown | Self::Overloaded | Self::ClientTimeout
        )
    }

    /// The WebSocket close code that follows the Close message.
    pub(crate) fn websocket_code(&self) -> u16 {
        match self {
            Self::Shutdown => 1001,
            Self::Overloaded | Self::ClientTimeout => 1000,
            Self::TokenExpired => 1008,
            Self::Protocol(ProtocolError::MessageTooLarge { .. }) => 1009,
            Self::Protocol(ProtocolError::BinaryFrame) => 1003,
            Self::Protocol(_) => 1002,
        }
    }

    /// A short label for logs.
    pub(crate) fn label(&self) -> &'static str {
        match self {
            Self::Shutdown => "shutdown",
            Self::Overloaded => "overloaded",
            Self::ClientTimeout => "client_timeout",
            Self::TokenExpired => "token_expired",
            Self::Protocol(_) => "protocol_error",
        }
    }
}

/// Invocations this server made on one connection that wait for their completion.
#[derive(Debug, Default)]
struct PendingInvocations {
    /// Set when the connection ends: no new invocation is accepted after that.
    closed: bool,
    waiting: HashMap<String, oneshot::Sender<CompletionOutcome>>,
}

/// The hub's side of one live connection. Shared by the registry, pushes and the
/// connection's own task.
#[derive(Debug)]
pub(crate) struct ConnectionHandle {
    pub(crate) id: ConnectionRef,
    /// Encoded frames for the connection's task to write, bounded.
    outbound: mpsc::Sender<String>,
    /// The first reason given to close this connection; the task watches it.
    close: watch::Sender<Option<CloseCause>>,
    pending: Mutex<PendingInvocations>,
    max_pending: usize,
    next_invocation_id: AtomicU64,
}

/// What the connection's task keeps: the receiving ends of its handle.
#[derive(Debug)]
pub(crate) struct ConnectionMailbox {
    pub(crate) outbound: mpsc::Receiver<String>,
    pub(crate) close: watch::Receiver<Option<CloseCause>>,
}

impl ConnectionHandle {
    pub(crate) fn new(
        id: ConnectionRef,
        queue_capacity: usize,
        max_pending: usize,
    ) -> (Arc<Self>, ConnectionMailbox) {
        let (outbound_tx, outbound_rx) = mpsc::channel(queue_capacity.max(1));
        let (close_tx, close_rx) = watch::channel(None);
        let handle = Arc::new(Self {
            id,
            outbound: outbound_tx,
            close: close_tx,
            pending: Mutex::new(PendingInvocations::default()),
            max_pending,
            next_invocation_id: AtomicU64::new(1),
        });
        let mailbox = ConnectionMailbox {
            outbound: outbound_rx,
            close: close_rx,
        };
        (handle, mailbox)
    }

    /// Queues an invocation of `target` expecting a completion; returns its id and where
    /// the completion will arrive.
    pub(crate) fn invoke(
        &self,
        target: &str,
        argument_json: &str,
    ) -> Result<(String, oneshot::Receiver<CompletionOutcome>), FailureReason> {
        let invocation_id = self
            .next_invocation_id
            .fetch_add(1, Ordering::Relaxed)
            .to_string();
        let (sender, receiver) = oneshot::channel();
        {
            let mut pending = self.lock_pending();
            if pending.closed {
                return Err(FailureReason::Disconnected);
            }
            if pending.waiting.len() >= self.max_pending {
                drop(pending);
                self.request_close(CloseCause::Overloaded);
                return Err(FailureReason::Overloaded);
            }
            pending.waiting.insert(invocation_id.clone(), sender);
        }
        let frame = protocol::invocation(&invocation_id, target, argument_json);
        match self.outbound.try_send(frame) {
            Ok(()) => Ok((invocation_id, receiver)),
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.forget(&invocation_id);
                self.request_close(CloseCause::Overloaded);
                Err(FailureReason::Overloaded)
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {
                self.forget(&invocation_id);
                Err(FailureReason::Disconnected)
            }
        }
    }

    /// Hands a completion to whoever waits for it; false when nobody does (unknown id, or
    /// the push already timed out).
    pub(crate) fn complete(&self, invocation_id: &str, outcome: CompletionOutcome) -> bool {
        let waiting = self.lock_pending().waiting.remove(invocation_id);
        match waiting {
            Some(sender) => sender.send(outcome).is_ok(),
            None => false,
        }
    }

    /// Stops waiting for an invocation's completion (its push timed out).
    pub(crate) fn forget(&self, invocation_id: &str) {
        self.lock_pending().waiting.remove(invocation_id);
    }

    /// Asks the connection's task to close with `cause`; the first cause wins.
    pub(crate) fn request_close(&self, cause: CloseCause) {
        self.close.send_if_modified(|current| {
            if current.is_some() {
                return false;
            }
            *current = Some(cause);
            true
        });
    }

    /// The connection has ended: every waiting invocation learns it now.
    pub(crate) fn fail_pending(&self) {
        let mut pending = self.lock_pending();
        pending.closed = true;
        pending.waiting.clear();
    }

    fn lock_pending(&self) -> MutexGuard<'_, PendingInvocations> {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[derive(Debug, Default)]
struct RegistryState {
    by_user: HashMap<String, HashMap<String, Arc<ConnectionHandle>>>,
    shutting_down: bool,
}

/// Admission after shutdown began.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the hub is shutting down")]
pub(crate) struct ShuttingDown;

/// Every live connection, by user.
#[derive(Debug)]
pub(crate) struct Registry {
    state: Mutex<RegistryState>,
    /// The number of live connections, for shutdown to wait on.
    live: watch::Sender<usize>,
}

impl Registry {
    pub(crate) fn new() -> Self {
        Self {
            state: Mutex::new(RegistryState::default()),
            live: watch::Sender::new(0),
        }
    }

    /// Lists a connection whose handshake was answered.
    pub(crate) fn register(&self, handle: Arc<ConnectionHandle>) -> Result<(), ShuttingDown> {
        let mut state = self.lock();
        if state.shutting_down {
            return Err(ShuttingDown);
        }
        let previous = state
            .by_user
            .entry(handle.id.user_id.clone())
            .or_default()
            .insert(handle.id.connection_id.clone(), handle);
        debug_assert!(previous.is_none(), "connection ids are unique");
        self.live.send_modify(|count| *count += 1);
        Ok(())
    }

    /// Removes an ended connection and fails its waiting invocations.
    pub(crate) fn deregister(&self, handle: &ConnectionHandle) {
        let removed = {
            let mut state = self.lock();
            let user_id = &handle.id.user_id;
            let removed = state
                .by_user
                .get_mut(user_id)
                .and_then(|connections| connections.remove(&handle.id.connection_id));
            if state.by_user.get(user_id).is_some_and(HashMap::is_empty) {
                state.by_user.remove(user_id);
            }
            removed.is_some()
        };
        handle.fail_pending();
        if removed {
            self.live
                .send_modify(|count| *count = count.saturating_sub(1));
        }
    }

    /// The live connections of `user_id`.
    pub(crate) fn connections_of(&self, user_id: &str) -> Vec<Arc<ConnectionHandle>> {
        self.lock()
            .by_user
            .get(user_id)
            .map(|connections| connections.values().cloned().collect())
            .unwrap_or_default()
    }

    /// How many connections are live.
    pub(crate) fn live_count(&self) -> usize {
        *self.live.borrow()
    }

    /// Refuses new connections from now on, and returns every live one.
    pub(crate) fn begin_shutdown(&self) -> Vec<Arc<ConnectionHandle>> {
        let mut state = self.lock();
        state.shutting_down = true;
        state
            .by_user
            .values()
            .flat_map(|connections| connections.values().cloned())
            .collect()
    }

    pub(crate) fn is_shutting_down(&self) -> bool {
        self.lock().shutting_down
    }

    /// Resolves when no connection is live any more.
    pub(crate) async fn all_closed(&self) {
        let mut live = self.live.subscribe();
        // An error means the sender is gone, which cannot happen while `self` lives.
        let _outcome = live.wait_for(|count| *count == 0).await;
    }

    fn lock(&self) -> MutexGuard<'_, RegistryState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn handle(
        user: &str,
        connection: &str,
        capacity: usize,
    ) -> (Arc<ConnectionHandle>, ConnectionMailbox) {
        ConnectionHandle::new(
            ConnectionRef {
                user_id: user.into(),
                connection_id: connection.into(),
            },
            capacity,
            8,
        )
    }

    #[test]
    fn a_full_outbound_queue_fails_the_push_and_asks_the_connection_to_close() {
        let (connection, mailbox) = handle("alice", "c1", 1);
        assert!(connection.invoke("PushUpdate", "1").is_ok());
        assert_eq!(
            connection.invoke("PushUpdate", "2").unwrap_err(),
            FailureReason::Overloaded
        );
        assert_eq!(*mailbox.close.borrow(), Some(CloseCause::Overloaded));
    }

    #[test]
    fn the_first_close_cause_wins() {
        let (connection, mailbox) = handle("alice", "c1", 4);
        connection.request_close(CloseCause::TokenExpired);
        connection.request_close(CloseCause::Shutdown);
        assert_eq!(*mailbox.close.borrow(), Some(CloseCause::TokenExpired));
    }

    #[tokio::test]
    async fn an_ended_connection_answers_its_waiting_invocations_at_once() {
        let registry = Registry::new();
        let (connection, _mailbox) = handle("alice", "c1", 4);
        registry.register(connection.clone()).unwrap();
        let (_id, receiver) = connection.invoke("PushUpdate", "1").unwrap();
        registry.deregister(&connection);
        assert!(receiver.await.is_err());
        assert_eq!(
            connection.invoke("PushUpdate", "2").unwrap_err(),
            FailureReason::Disconnected
        );
        assert!(registry.connections_of("alice").is_empty());
        assert_eq!(registry.live_count(), 0);
    }

    #[test]
    fn no_connection_is_admitted_once_shutdown_began() {
        let registry = Registry::new();
        let (first, _first_mailbox) = handle("alice", "c1", 4);
        registry.register(first).unwrap();
        assert_eq!(registry.begin_shutdown().len(), 1);
        let (second, _second_mailbox) = handle("alice", "c2", 4);
        assert_eq!(registry.register(second), Err(ShuttingDown));
    }
}
