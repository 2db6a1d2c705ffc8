//! Stateful reconnect: a connection that outlives its socket.
//!
//! Guarantees:
//! - a connection is resumable only when negotiate offered stateful reconnect and the
//!   handshake asked for version 2; it is listed in [`Resumptions`] under its connection token
//!   from its handshake until it ends, and only the user who opened it can resume it — another
//!   user, or an unknown or expired id, finds nothing (the router answers 404);
//! - a resumed connection keeps its id, its registry entry and its waiting invocations: the
//!   completions that arrive on the new socket still count;
//! - while inactive (no socket), a connection keeps taking its pushes into its replay buffer
//!   within [`crate::HubConfig::stateful_reconnect_buffer_bytes`] (the rest waits in its
//!   bounded outgoing buffer), and ends after [`crate::HubConfig::disconnect_timeout`], at
//!   shutdown, or when it is asked to close;
//! - on a new socket this side sends its `Sequence` (the oldest unacknowledged id) first, then
//!   every unacknowledged message in order, before anything new; until the peer's `Sequence`
//!   arrives everything the peer sends is ignored.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::extract::ws::WebSocket;
use orderflow_auth::Principal;
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::handle::{CloseCause, ConnectionMailbox, close_requested};
use crate::protocol;
use crate::replay_buffer::{ReceivedMessages, SentMessages};
use crate::socket::{WriteFailed, send_text};

/// A new socket for a resumable connection, with the user's fresh token.
#[derive(Debug)]
pub(crate) struct ResumedSocket {
    pub(crate) socket: WebSocket,
    pub(crate) principal: Principal,
}

/// A new socket on its way. Boxed: a channel allocates its slots up front, and an idle
/// connection should not pay for them in sockets.
type Handover = Box<ResumedSocket>;

/// One resumable connection: whose it is, and where its new socket goes.
#[derive(Debug)]
struct Resumable {
    user_id: String,
    sockets: mpsc::Sender<Handover>,
}

/// Resumable connections by connection token.
#[derive(Debug, Default)]
pub(crate) struct Resumptions {
    table: Mutex<HashMap<String, Resumable>>,
}

impl Resumptions {
    /// Lists the connection opened with `token` by `user_id` until the returned listing is
    /// dropped; new sockets for it arrive on the receiver.
    pub(crate) fn list(
        &self,
        token: String,
        user_id: &str,
    ) -> (Listing<'_>, mpsc::Receiver<Handover>) {
        let (sender, receiver) = mpsc::channel(1);
        self.lock().insert(
            token.clone(),
            Resumable {
                user_id: user_id.to_owned(),
                sockets: sender,
            },
        );
        (
            Listing {
                resumptions: self,
                token,
            },
            receiver,
        )
    }

    /// Where a new socket of `user_id` presenting `token` goes; `None` when no connection of
    /// this user is resumable under it.
    pub(crate) fn claim(&self, token: &str, user_id: &str) -> Option<ResumeTicket> {
        self.lock()
            .get(token)
            .filter(|resumable| resumable.user_id == user_id)
            .map(|resumable| ResumeTicket {
                sockets: resumable.sockets.clone(),
            })
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Resumable>> {
        self.table.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A connection's place in [`Resumptions`]; dropping it ends resumability.
#[derive(Debug)]
pub(crate) struct Listing<'a> {
    resumptions: &'a Resumptions,
    token: String,
}

impl Drop for Listing<'_> {
    fn drop(&mut self) {
        self.resumptions.lock().remove(&self.token);
    }
}

/// The right to hand one upgraded socket to a resumable connection.
#[derive(Debug)]
pub(crate) struct ResumeTicket {
    sockets: mpsc::Sender<Handover>,
}

impl ResumeTicket {
    /// Hands the socket over; if the connection ended meanwhile, or another socket is being
    /// handed over, the socket is dropped and the client starts afresh.
    pub(crate) fn resume(self, socket: WebSocket, principal: Principal) {
        if self
            .sockets
            .try_send(Box::new(ResumedSocket { socket, principal }))
            .is_err()
        {
            tracing::debug!("the connection to resume is gone; dropping its new socket");
        }
    }
}

/// What a resumable connection keeps across sockets.
#[derive(Debug)]
pub(crate) struct StatefulLink {
    pub(crate) sent: SentMessages,
    pub(crate) received: ReceivedMessages,
    /// After a reconnect, until the peer's `Sequence`: everything else is ignored.
    pub(crate) awaiting_peer_sequence: bool,
    /// New sockets for this connection.
    pub(crate) resumed: mpsc::Receiver<Handover>,
}

impl StatefulLink {
    pub(crate) fn new(max_bytes: usize, resumed: mpsc::Receiver<Handover>) -> Self {
        Self {
            sent: SentMessages::new(max_bytes),
            received: ReceivedMessages::default(),
            awaiting_peer_sequence: false,
            resumed,
        }
    }

    /// On a new socket: sends `Sequence`, then every unacknowledged message in order.
    pub(crate) async fn replay(
        &mut self,
        socket: &mut WebSocket,
        send_timeout: Duration,
    ) -> Result<(), WriteFailed> {
        self.awaiting_peer_sequence = true;
        let start = self.sent.first_unacknowledged();
        send_text(socket, protocol::sequence(start), send_timeout).await?;
        let mut replayed = 0_usize;
        for frame in self.sent.pending() {
            send_text(socket, frame.to_owned(), send_timeout).await?;
            replayed += 1;
        }
        tracing::info!(
            sequence_id = start,
            replayed,
            replayed_bytes = self.sent.kept_bytes(),
            "hub connection resumed on a new socket"
        );
        Ok(())
    }

    /// Waits, without a socket, for a new one; keeps taking pushes into the replay buffer
    /// meanwhile. Returns why the connection ends instead if it does.
    pub(crate) async fn park(
        &mut self,
        mailbox: &mut ConnectionMailbox,
        disconnect_timeout: Duration,
    ) -> Result<Handover, Inactive> {
        let deadline = Instant::now() + disconnect_timeout;
        loop {
            tokio::select! {
                biased;
                cause = close_requested(&mut mailbox.close) => return Err(Inactive::Closed(cause)),
                resumed = self.resumed.recv() => match resumed {
                    Some(resumed) => return Ok(resumed),
                    None => return Err(Inactive::Closed(CloseCause::Shutdown)),
                },
                () = tokio::time::sleep_until(deadline) => return Err(Inactive::NotResumed),
                frame = mailbox.outbound.next_frame(), if self.sent.has_room() => match frame {
                    Some(frame) => {
                        self.sent.record(frame);
                    }
                    None => return Err(Inactive::Closed(CloseCause::Shutdown)),
                },
            }
        }
    }
}

/// Why an inactive connection ends.
#[derive(Debug)]
pub(crate) enum Inactive {
    /// No new socket arrived within the disconnect timeout.
    NotResumed,
    /// It was asked to close (shutdown, overload) while it had no socket.
    Closed(CloseCause),
}
