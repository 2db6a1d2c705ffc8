//! Serving one socket of a connection until it ends: writing the queued pushes, reading the
//! client's records, keep-alive and timeouts.
//!
//! Guarantees:
//! - frames queued by pushes are written in queuing order; every write is bounded by
//!   [`crate::HubConfig::send_timeout`];
//! - malformed JSON, unknown message types, records over the size limit and binary frames end
//!   the connection with a Close message carrying the error, never a panic; a client's
//!   invocation of any method is answered with a completion error, since this hub offers no
//!   client-to-server methods;
//! - a Ping goes out whenever nothing else was sent for the keep-alive interval; a client
//!   silent for the client timeout, or whose access token expires (past the validator's
//!   clock leeway), is closed;
//! - with stateful reconnect, every sequenced message written is kept until acknowledged; at
//!   the buffer's byte bound nothing more is taken from the outgoing buffer until an `Ack`
//!   frees room, and if none does within the send timeout the connection is closed with an
//!   error; received sequenced messages are acknowledged at most about once a second,
//!   duplicates are dropped, and a socket lost without a Close (or replaced by a resumed one)
//!   is reported as such, for the connection to wait for its client;
//! - without stateful reconnect, `Ack` and `Sequence` are protocol errors, and a transport
//!   error ends the connection with a Close message carrying it.

use std::time::Duration;

use axum::extract::ws::{Message, WebSocket};
use tokio::time::Instant;

use crate::HubConfig;
use crate::handle::{CloseCause, ConnectionHandle, ConnectionMailbox, close_requested};
use crate::protocol::{self, ClientMessage, PING, ProtocolError, RecordReader};
use crate::replay_buffer::Arrival;
use crate::socket::{WriteFailed, send_text};
use crate::stateful::{ResumedSocket, StatefulLink};

/// How one socket of a connection ends.
#[derive(Debug)]
pub(crate) enum Ending {
    /// The hub closes it: a Close message, then a WebSocket close frame.
    Close(CloseCause),
    /// The client said goodbye: a Close message or a close frame.
    ClientGone,
    /// The socket's stream ended without a close frame.
    SocketEnded,
    /// The socket failed (reset, a frame over the transport's limit, invalid UTF-8…).
    TransportFailed(String),
    /// Writing to the client failed or took longer than the send timeout.
    WriteFailed,
    /// Stateful reconnect: the client resumed the connection on another socket.
    Resumed(Box<ResumedSocket>),
    /// Stateful reconnect: no new socket came within the disconnect timeout.
    NotResumed,
}

impl Ending {
    /// Whether the socket was lost without a Close, so a stateful connection waits for its
    /// client to come back.
    pub(crate) fn socket_lost(&self) -> bool {
        matches!(
            self,
            Self::SocketEnded | Self::TransportFailed(_) | Self::WriteFailed
        )
    }

    /// The ending of a connection without stateful reconnect: a stream that ends is a client
    /// gone, a transport error is closed with it.
    pub(crate) fn without_resumption(self) -> Self {
        match self {
            Self::SocketEnded => Self::ClientGone,
            Self::TransportFailed(error) => {
                Self::Close(CloseCause::Protocol(ProtocolError::Transport(error)))
            }
            other => other,
        }
    }
}

impl From<WriteFailed> for Ending {
    fn from(WriteFailed: WriteFailed) -> Self {
        Self::WriteFailed
    }
}

/// What one socket is served with.
pub(crate) struct Serving<'a> {
    pub(crate) handle: &'a ConnectionHandle,
    pub(crate) config: &'a HubConfig,
    /// Set for a connection with stateful reconnect.
    pub(crate) stateful: Option<&'a mut StatefulLink>,
}

impl Serving<'_> {
    /// Serves `socket` until it ends; `token_lifetime` is how long its access token is good.
    pub(crate) async fn run(
        &mut self,
        socket: &mut WebSocket,
        reader: &mut RecordReader,
        mailbox: &mut ConnectionMailbox,
        token_lifetime: Duration,
    ) -> Ending {
        let config = self.config;
        let keep_alive = tokio::time::sleep(config.keep_alive_interval);
        let client_silence = tokio::time::sleep(config.client_timeout);
        let token_expiry = tokio::time::sleep(token_lifetime);
        let backpressure = tokio::time::sleep(config.send_timeout);
        let mut backpressure_armed = false;
        tokio::pin!(keep_alive, client_silence, token_expiry, backpressure);

        loop {
            let replay_full = self
                .stateful
                .as_ref()
                .is_some_and(|link| !link.sent.has_room());
            if replay_full && !backpressure_armed {
                backpressure
                    .as_mut()
                    .reset(Instant::now() + config.send_timeout);
            }
            backpressure_armed = replay_full;
            let ack_due = self
                .stateful
                .as_ref()
                .and_then(|link| link.received.ack_due());
            let stateful = &mut self.stateful;
            tokio::select! {
                biased;
                cause = close_requested(&mut mailbox.close) => return Ending::Close(cause),
                () = &mut token_expiry => return Ending::Close(CloseCause::TokenExpired),
                () = &mut client_silence => return Ending::Close(CloseCause::ClientTimeout),
                () = &mut backpressure, if backpressure_armed => {
                    tracing::info!("the client acknowledged nothing while its replay buffer was full");
                    return Ending::Close(CloseCause::Overloaded);
                }
                resumed = next_resumed_socket(stateful) => return Ending::Resumed(resumed),
                frame = mailbox.outbound.next_frame(), if !replay_full => {
                    let Some(frame) = frame else {
                        return Ending::Close(CloseCause::Shutdown);
                    };
                    if let Some(link) = self.stateful.as_deref_mut() {
                        link.sent.record(frame.clone());
                    }
                    if send_text(socket, frame, config.send_timeout).await.is_err() {
                        return Ending::WriteFailed;
                    }
                    keep_alive.as_mut().reset(Instant::now() + config.keep_alive_interval);
                }
                () = sleep_until_some(ack_due), if ack_due.is_some() => {
                    let ack = self.stateful.as_deref_mut().and_then(|link| link.received.take_due_ack(Instant::now()));
                    if let Some(sequence_id) = ack
                        && send_text(socket, protocol::ack(sequence_id), config.send_timeout).await.is_err()
                    {
                        return Ending::WriteFailed;
                    }
                }
                received = socket.recv() => {
                    client_silence.as_mut().reset(Instant::now() + config.client_timeout);
                    let records = match received {
                        None => return Ending::SocketEnded,
                        Some(Ok(Message::Close(_))) => return Ending::ClientGone,
                        Some(Err(error)) => return Ending::TransportFailed(error.to_string()),
                        Some(Ok(Message::Binary(_))) => {
                            return Ending::Close(CloseCause::Protocol(ProtocolError::BinaryFrame));
                        }
                        Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                        Some(Ok(Message::Text(text))) => match reader.push_frame(text.as_str()) {
                            Ok(records) => records,
                            Err(error) => return Ending::Close(CloseCause::Protocol(error)),
                        },
                    };
                    for record in records {
                        if let Some(ending) = self.on_record(&record, socket).await {
                            return ending;
                        }
                    }
                }
                () = &mut keep_alive => {
                    if send_text(socket, PING.to_owned(), config.send_timeout).await.is_err() {
                        return Ending::WriteFailed;
                    }
                    keep_alive.as_mut().reset(Instant::now() + config.keep_alive_interval);
                }
            }
        }
    }

    /// Acts on one record; `Some` when the socket's service must end.
    pub(crate) async fn on_record(
        &mut self,
        record: &str,
        socket: &mut WebSocket,
    ) -> Option<Ending> {
        let message = match protocol::decode_client_message(record) {
            Ok(message) => message,
            Err(error) => return Some(Ending::Close(CloseCause::Protocol(error))),
        };
        match self.stateful.as_deref_mut() {
            Some(link) => match sequence(link, &message) {
                Sequencing::ActOn => {}
                Sequencing::Consumed => return None,
                Sequencing::Broken(error) => {
                    return Some(Ending::Close(CloseCause::Protocol(error)));
                }
            },
            None => {
                let kind = match message {
                    ClientMessage::Ack { .. } => Some(8),
                    ClientMessage::Sequence { .. } => Some(9),
                    _ => None,
                };
                if let Some(kind) = kind {
                    return Some(Ending::Close(CloseCause::Protocol(
                        ProtocolError::StatefulReconnectNotNegotiated(kind),
                    )));
                }
            }
        }
        let answer = match message {
            ClientMessage::Completion {
                invocation_id,
                outcome,
            } => {
                if !self.handle.complete(&invocation_id, outcome) {
                    tracing::debug!(%invocation_id, "completion for no waiting invocation (late or unknown)");
                }
                return None;
            }
            ClientMessage::Invocation {
                invocation_id: Some(invocation_id),
                target,
            } => protocol::completion_error(
                &invocation_id,
                &format!("Unknown hub method '{target}'"),
            ),
            ClientMessage::Invocation {
                invocation_id: None,
                target,
            } => {
                tracing::debug!(%target, "ignoring a non-blocking invocation of an unknown method");
                return None;
            }
            ClientMessage::StreamInvocation {
                invocation_id,
                target,
            } => protocol::completion_error(
                &invocation_id,
                &format!("Unknown hub method '{target}': this hub has no streaming methods"),
            ),
            ClientMessage::StreamItem => {
                tracing::debug!("ignoring a stream item: this hub accepts no upload streams");
                return None;
            }
            ClientMessage::CancelInvocation
            | ClientMessage::Ping
            | ClientMessage::Ack { .. }
            | ClientMessage::Sequence { .. } => return None,
            ClientMessage::Close => return Some(Ending::ClientGone),
        };
        if let Some(link) = self.stateful.as_deref_mut() {
            // An answer is a sequenced message too: kept for a replay, within the bound.
            if !link.sent.has_room() {
                return Some(Ending::Close(CloseCause::Overloaded));
            }
            link.sent.record(answer.clone());
        }
        match send_text(socket, answer, self.config.send_timeout).await {
            Ok(()) => None,
            Err(WriteFailed) => Some(Ending::WriteFailed),
        }
    }
}

/// What stateful reconnect's rules make of one received message.
enum Sequencing {
    /// Act on it.
    ActOn,
    /// Consumed here: an `Ack`, a `Sequence`, a duplicate, or anything before the peer's
    /// `Sequence` after a reconnect.
    Consumed,
    /// The peer's `Sequence` starts past what was received.
    Broken(ProtocolError),
}

fn sequence(link: &mut StatefulLink, message: &ClientMessage) -> Sequencing {
    match message {
        ClientMessage::Sequence { sequence_id } => {
            link.awaiting_peer_sequence = false;
            match link.received.restart_at(*sequence_id) {
                Ok(()) => Sequencing::Consumed,
                Err(error) => Sequencing::Broken(error),
            }
        }
        _ if link.awaiting_peer_sequence => Sequencing::Consumed,
        ClientMessage::Ack { sequence_id } => {
            link.sent.acknowledge(*sequence_id);
            Sequencing::Consumed
        }
        sequenced if sequenced.is_sequenced() => match link.received.arrive(Instant::now()) {
            Arrival::New => Sequencing::ActOn,
            Arrival::Duplicate => Sequencing::Consumed,
        },
        _ => Sequencing::ActOn,
    }
}

/// The next socket that resumes this connection; never, without stateful reconnect.
async fn next_resumed_socket(stateful: &mut Option<&mut StatefulLink>) -> Box<ResumedSocket> {
    match stateful.as_deref_mut() {
        Some(link) => match link.resumed.recv().await {
            Some(resumed) => resumed,
            None => std::future::pending().await,
        },
        None => std::future::pending().await,
    }
}

async fn sleep_until_some(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
