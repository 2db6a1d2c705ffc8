//! The hub's side of one live connection: its bounded outgoing buffer, the invocations
//! waiting for its completions, and why it is asked to close.
//!
//! Guarantees:
//! - queuing never waits: frames are queued in the order they are given, and a frame that
//!   would take the outgoing buffer past its bound — in messages or in bytes — is not queued:
//!   the push fails for this connection at once and the connection is asked to close with an
//!   error (a Close message saying it could not keep up);
//! - so are too many unanswered invocations;
//! - a connection that has never answered an invocation and let
//!   [`crate::HubConfig::unanswered_pushes_before_no_ack`] pushes in a row time out is taken
//!   for a client without client results: later invocations are written without an
//!   `invocationId` ([`Invoked::Sent`]) and awaited by nobody, until a completion arrives from
//!   it (even a late one), which switches it back;
//! - once the connection has ended, every invocation still waiting for its completion is
//!   answered "disconnected" immediately (its sender is dropped), and no new one is accepted.
//!
//! Locks are `std` mutexes held for map operations only, never across an `.await`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use orderflow_app::TraceContext;
use tokio::sync::{mpsc, oneshot, watch};

use crate::HubConfig;
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

/// Resolves with the reason once the connection is asked to close (cancel-safe).
pub(crate) async fn close_requested(close: &mut watch::Receiver<Option<CloseCause>>) -> CloseCause {
    loop {
        let changed = close.changed().await;
        if let Some(cause) = close.borrow_and_update().clone() {
            return cause;
        }
        if changed.is_err() {
            // The handle cannot go away while the connection's task holds it.
            return CloseCause::Shutdown;
        }
    }
}

/// Invocations this server made on one connection that wait for their completion, and what
/// the connection's answers so far say about it.
#[derive(Debug, Default)]
struct PendingInvocations {
    /// Set when the connection ends: no new invocation is accepted after that.
    closed: bool,
    waiting: HashMap<String, oneshot::Sender<CompletionOutcome>>,
    /// Whether any completion ever arrived from this connection.
    answered_once: bool,
    /// Pushes that timed out since the last completion.
    timeouts_in_a_row: u32,
    /// The client does not answer client results: invocations go out without an id.
    without_acknowledgements: bool,
}

/// How an invocation went out.
#[derive(Debug)]
pub(crate) enum Invoked {
    /// Queued with an `invocationId`; its completion arrives here.
    Awaiting {
        invocation_id: String,
        completion: oneshot::Receiver<CompletionOutcome>,
    },
    /// Queued without an `invocationId`: nobody waits for an answer.
    Sent,
}

/// The hub's side of one live connection. Shared by the registry, pushes and the
/// connection's own task.
#[derive(Debug)]
pub(crate) struct ConnectionHandle {
    pub(crate) id: ConnectionRef,
    /// Encoded frames for the connection's task to write, bounded in messages.
    outbound: mpsc::Sender<String>,
    /// Bytes of the frames in `outbound`, bounded by `max_queued_bytes`.
    queued_bytes: Arc<AtomicUsize>,
    max_queued_bytes: usize,
    /// The first reason given to close this connection; the task watches it.
    close: watch::Sender<Option<CloseCause>>,
    pending: Mutex<PendingInvocations>,
    max_pending: usize,
    timeouts_before_no_ack: u32,
    next_invocation_id: AtomicU64,
}

/// What the connection's task keeps: the receiving ends of its handle.
#[derive(Debug)]
pub(crate) struct ConnectionMailbox {
    pub(crate) outbound: OutgoingFrames,
    pub(crate) close: watch::Receiver<Option<CloseCause>>,
}

/// The frames queued for the connection's task to write.
#[derive(Debug)]
pub(crate) struct OutgoingFrames {
    receiver: mpsc::Receiver<String>,
    queued_bytes: Arc<AtomicUsize>,
}

impl OutgoingFrames {
    /// The next frame to write, in queuing order; `None` once every handle is gone.
    /// Cancel-safe (the frame's bytes leave the bound only once it was taken).
    pub(crate) async fn next_frame(&mut self) -> Option<String> {
        let frame = self.receiver.recv().await?;
        self.queued_bytes.fetch_sub(frame.len(), Ordering::AcqRel);
        Some(frame)
    }
}

impl ConnectionHandle {
    pub(crate) fn new(id: ConnectionRef, config: &HubConfig) -> (Arc<Self>, ConnectionMailbox) {
        let (outbound_tx, outbound_rx) = mpsc::channel(config.outbound_queue_capacity.max(1));
        let (close_tx, close_rx) = watch::channel(None);
        let queued_bytes = Arc::new(AtomicUsize::new(0));
        let handle = Arc::new(Self {
            id,
            outbound: outbound_tx,
            queued_bytes: queued_bytes.clone(),
            max_queued_bytes: config.outbound_queue_bytes,
            close: close_tx,
            pending: Mutex::new(PendingInvocations::default()),
            max_pending: config.max_pending_invocations,
            timeouts_before_no_ack: config.unanswered_pushes_before_no_ack.max(1),
            next_invocation_id: AtomicU64::new(1),
        });
        let mailbox = ConnectionMailbox {
            outbound: OutgoingFrames {
                receiver: outbound_rx,
                queued_bytes,
            },
            close: close_rx,
        };
        (handle, mailbox)
    }

    /// Queues an invocation of `target`: expecting a completion when `want_completion` and
    /// the client answers client results, else without an id.
    pub(crate) fn invoke(
        &self,
        target: &str,
        argument_json: &str,
        want_completion: bool,
    ) -> Result<Invoked, FailureReason> {
        self.invoke_traced(
            target,
            argument_json,
            want_completion,
            &TraceContext::none(),
        )
    }

    /// [`ConnectionHandle::invoke`] with `trace` in the invocation's `headers`.
    pub(crate) fn invoke_traced(
        &self,
        target: &str,
        argument_json: &str,
        want_completion: bool,
        trace: &TraceContext,
    ) -> Result<Invoked, FailureReason> {
        let invocation_id = self
            .next_invocation_id
            .fetch_add(1, Ordering::Relaxed)
            .to_string();
        let (sender, receiver) = oneshot::channel();
        let awaited = {
            let mut pending = self.lock_pending();
            if pending.closed {
                return Err(FailureReason::Disconnected);
            }
            let awaited = want_completion && !pending.without_acknowledgements;
            if awaited {
                if pending.waiting.len() >= self.max_pending {
                    drop(pending);
                    self.request_close(CloseCause::Overloaded);
                    return Err(FailureReason::Overloaded);
                }
                pending.waiting.insert(invocation_id.clone(), sender);
            }
            awaited
        };
        if !awaited {
            self.queue(protocol::invocation_without_result(
                target,
                argument_json,
                trace,
            ))?;
            return Ok(Invoked::Sent);
        }
        match self.queue(protocol::invocation(
            &invocation_id,
            target,
            argument_json,
            trace,
        )) {
            Ok(()) => Ok(Invoked::Awaiting {
                invocation_id,
                completion: receiver,
            }),
            Err(reason) => {
                self.lock_pending().waiting.remove(&invocation_id);
                Err(reason)
            }
        }
    }

    /// Queues one frame within the bounds, or asks the connection to close.
    fn queue(&self, frame: String) -> Result<(), FailureReason> {
        let size = frame.len();
        let before = self.queued_bytes.fetch_add(size, Ordering::AcqRel);
        if before.saturating_add(size) > self.max_queued_bytes {
            self.queued_bytes.fetch_sub(size, Ordering::AcqRel);
            self.request_close(CloseCause::Overloaded);
            return Err(FailureReason::Overloaded);
        }
        match self.outbound.try_send(frame) {
            Ok(()) => Ok(()),
            Err(error) => {
                self.queued_bytes.fetch_sub(size, Ordering::AcqRel);
                match error {
                    mpsc::error::TrySendError::Full(_) => {
                        self.request_close(CloseCause::Overloaded);
                        Err(FailureReason::Overloaded)
                    }
                    mpsc::error::TrySendError::Closed(_) => Err(FailureReason::Disconnected),
                }
            }
        }
    }

    /// Hands a completion to whoever waits for it; false when nobody does (unknown id, or
    /// the push already timed out). Any completion shows the client answers client results.
    pub(crate) fn complete(&self, invocation_id: &str, outcome: CompletionOutcome) -> bool {
        let waiting = {
            let mut pending = self.lock_pending();
            pending.answered_once = true;
            pending.timeouts_in_a_row = 0;
            if pending.without_acknowledgements {
                pending.without_acknowledgements = false;
                tracing::info!("the client answered: its pushes are acknowledged again");
            }
            pending.waiting.remove(invocation_id)
        };
        match waiting {
            Some(sender) => sender.send(outcome).is_ok(),
            None => false,
        }
    }

    /// A push's wait for `invocation_id` timed out: stop waiting for it, and take the client
    /// for one without client results if it never answered and this keeps happening.
    pub(crate) fn timed_out(&self, invocation_id: &str) {
        let mut pending = self.lock_pending();
        pending.waiting.remove(invocation_id);
        pending.timeouts_in_a_row = pending.timeouts_in_a_row.saturating_add(1);
        if !pending.answered_once
            && !pending.without_acknowledgements
            && pending.timeouts_in_a_row >= self.timeouts_before_no_ack
        {
            pending.without_acknowledgements = true;
            tracing::info!(
                connection_id = %self.id.connection_id,
                "the client never answers client results: its pushes are no longer awaited"
            );
        }
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

#[cfg(test)]
#[path = "handle_tests.rs"]
mod tests;
