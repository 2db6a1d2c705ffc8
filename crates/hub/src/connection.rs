//! One client connection, from the WebSocket upgrade to its close: one task owns the socket.
//!
//! Guarantees:
//! - the handshake is answered before any other message is sent; the connection is listed
//!   in the registry (so pushes can reach it) just before that answer, so a client that has
//!   seen the answer receives every later push;
//! - the handshake is read and checked as `handshake` guarantees; a refused one is answered
//!   `{"error": …}` and the socket is closed, and so is a connection over its user's or the
//!   hub's limit (see `registry`);
//! - malformed JSON, unknown message types, records over the size limit, binary frames and
//!   transport errors end the connection with a Close message carrying the error, never a
//!   panic; a client's invocation of any method is answered with a completion error, since
//!   this hub offers no client-to-server methods;
//! - a Ping goes out whenever nothing else was sent for the keep-alive interval; a client
//!   silent for the client timeout, or whose access token expires (past the validator's
//!   clock leeway), is closed;
//! - frames queued by pushes are written in queuing order; every write is bounded by
//!   [`crate::HubConfig::send_timeout`]: a client that stops reading is dropped, and its
//!   queue never grows past its bounds (see `handle`: over them, a Close with an error);
//! - when the connection ends, pushes waiting for its completions learn it at once.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use orderflow_auth::Principal;
use time::OffsetDateTime;
use tokio::time::Instant;
use tracing::Instrument;

use crate::handle::{CloseCause, ConnectionHandle, ConnectionMailbox};
use crate::handshake::{HandshakeFailure, handshake};
use crate::hub::HubState;
use crate::protocol::{
    self, ClientMessage, HANDSHAKE_OK, HandshakeError, PING, ProtocolError, RecordReader,
};
use crate::registry::AdmissionRefused;
use crate::report::ConnectionRef;

/// How long to wait for the client's close frame after ours, so the TCP close is orderly.
const CLOSE_LINGER: Duration = Duration::from_secs(1);

/// How a connection ends.
#[derive(Debug)]
enum Ending {
    /// The hub closes it: a Close message, then a WebSocket close frame.
    Close(CloseCause),
    /// The client said goodbye (Close message or close frame) or vanished.
    ClientGone,
    /// Writing to the client failed or took longer than the send timeout.
    WriteFailed,
}

/// Writing to the client failed or timed out.
#[derive(Debug, Clone, Copy)]
struct WriteFailed;

/// The connection's entry in the registry; leaving it (even by unwinding) removes it.
#[derive(Debug)]
struct Registration {
    hub: Arc<HubState>,
    handle: Arc<ConnectionHandle>,
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.hub.registry.deregister(&self.handle);
    }
}

/// Serves one upgraded WebSocket for `principal` until it closes.
pub(crate) async fn run(
    socket: WebSocket,
    hub: Arc<HubState>,
    principal: Principal,
    connection_id: String,
) {
    let span = tracing::info_span!(
        "hub_connection",
        connection_id = %connection_id,
        user_id = %principal.user_id
    );
    serve(socket, hub, principal, connection_id)
        .instrument(span)
        .await;
}

async fn serve(
    mut socket: WebSocket,
    hub: Arc<HubState>,
    principal: Principal,
    connection_id: String,
) {
    let config = hub.config.clone();
    let mut reader = RecordReader::new(config.max_message_bytes);

    let early_records = match handshake(&mut socket, &mut reader, config.handshake_timeout).await {
        Ok(records) => records,
        Err(HandshakeFailure::Gone) => {
            tracing::debug!("client left before the handshake");
            return;
        }
        Err(HandshakeFailure::TimedOut) => {
            tracing::info!("no handshake within the timeout; closing");
            close_socket(&mut socket, 1002, &config.send_timeout).await;
            return;
        }
        Err(HandshakeFailure::Refused(error)) => {
            tracing::info!(%error, "handshake refused");
            refuse_handshake(&mut socket, &error, config.send_timeout).await;
            return;
        }
    };
    // Listed before the handshake is answered, so a client that saw the answer is reachable
    // by pushes; anything queued meanwhile is written by this task only after the answer.
    let (handle, mut mailbox) = ConnectionHandle::new(
        ConnectionRef {
            user_id: principal.user_id.clone(),
            connection_id,
        },
        &config,
    );
    let registration = match hub.registry.register(handle.clone()) {
        Ok(()) => Some(Registration {
            hub: hub.clone(),
            handle,
        }),
        Err(AdmissionRefused::ShuttingDown) => None,
        Err(refused) => {
            tracing::info!(%refused, "connection over its limit refused at the handshake");
            let error = HandshakeError::NotAdmitted(refused.to_string());
            refuse_handshake(&mut socket, &error, config.send_timeout).await;
            return;
        }
    };
    if send_text(&mut socket, HANDSHAKE_OK.to_owned(), config.send_timeout)
        .await
        .is_err()
    {
        return;
    }
    let Some(registration) = registration else {
        goodbye(&mut socket, &CloseCause::Shutdown, config.send_timeout).await;
        return;
    };
    tracing::info!("hub connection opened");
    // The user's missed pushes, oldest first, alongside the live ones.
    crate::inbox::replay(&hub, &registration.handle);

    let mut ending = None;
    for record in early_records {
        if let Some(end) = on_record(&record, &mut socket, &registration.handle, &config).await {
            ending = Some(end);
            break;
        }
    }
    let ending = match ending {
        Some(ending) => ending,
        None => {
            main_loop(
                &mut socket,
                &mut reader,
                &mut mailbox,
                &registration.handle,
                &config,
                until_expiry(&principal, hub.validator.config().effective_leeway()),
            )
            .await
        }
    };

    // Pushes waiting on this connection learn now that it is going.
    registration.handle.fail_pending();
    match &ending {
        Ending::Close(cause) => {
            tracing::info!(cause = cause.label(), error = ?cause.error_text(), "closing hub connection");
            goodbye(&mut socket, cause, config.send_timeout).await;
        }
        Ending::ClientGone => {
            tracing::info!("client closed the hub connection");
            linger(&mut socket).await;
        }
        Ending::WriteFailed => tracing::info!("dropping hub connection: the client is not reading"),
    }
    drop(registration);
}

async fn main_loop(
    socket: &mut WebSocket,
    reader: &mut RecordReader,
    mailbox: &mut ConnectionMailbox,
    handle: &ConnectionHandle,
    config: &crate::HubConfig,
    token_lifetime: Duration,
) -> Ending {
    let keep_alive = tokio::time::sleep(config.keep_alive_interval);
    let client_silence = tokio::time::sleep(config.client_timeout);
    let token_expiry = tokio::time::sleep(token_lifetime);
    tokio::pin!(keep_alive, client_silence, token_expiry);

    loop {
        tokio::select! {
            biased;
            changed = mailbox.close.changed() => {
                let cause = mailbox.close.borrow_and_update().clone();
                match (cause, changed) {
                    (Some(cause), _) => return Ending::Close(cause),
                    // The handle cannot go away while this task holds it.
                    (None, Err(_)) => return Ending::Close(CloseCause::Shutdown),
                    (None, Ok(())) => {}
                }
            }
            () = &mut token_expiry => return Ending::Close(CloseCause::TokenExpired),
            () = &mut client_silence => return Ending::Close(CloseCause::ClientTimeout),
            frame = mailbox.outbound.next_frame() => {
                let Some(frame) = frame else {
                    return Ending::Close(CloseCause::Shutdown);
                };
                if send_text(socket, frame, config.send_timeout).await.is_err() {
                    return Ending::WriteFailed;
                }
                keep_alive.as_mut().reset(Instant::now() + config.keep_alive_interval);
            }
            received = socket.recv() => {
                client_silence.as_mut().reset(Instant::now() + config.client_timeout);
                let records = match received {
                    None | Some(Ok(Message::Close(_))) => return Ending::ClientGone,
                    Some(Err(error)) => {
                        return Ending::Close(CloseCause::Protocol(ProtocolError::Transport(
                            error.to_string(),
                        )));
                    }
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
                    if let Some(ending) = on_record(&record, socket, handle, config).await {
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

/// Acts on one record; `Some` when the connection must end.
async fn on_record(
    record: &str,
    socket: &mut WebSocket,
    handle: &ConnectionHandle,
    config: &crate::HubConfig,
) -> Option<Ending> {
    let message = match protocol::decode_client_message(record) {
        Ok(message) => message,
        Err(error) => return Some(Ending::Close(CloseCause::Protocol(error))),
    };
    let answer = match message {
        ClientMessage::Completion {
            invocation_id,
            outcome,
        } => {
            if !handle.complete(&invocation_id, outcome) {
                tracing::debug!(%invocation_id, "completion for no waiting invocation (late or unknown)");
            }
            return None;
        }
        ClientMessage::Invocation {
            invocation_id: Some(invocation_id),
            target,
        } => protocol::completion_error(&invocation_id, &format!("Unknown hub method '{target}'")),
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
        ClientMessage::CancelInvocation | ClientMessage::Ping => return None,
        ClientMessage::Close => return Some(Ending::ClientGone),
    };
    match send_text(socket, answer, config.send_timeout).await {
        Ok(()) => None,
        Err(WriteFailed) => Some(Ending::WriteFailed),
    }
}

/// Answers the handshake with `error` and closes the socket.
async fn refuse_handshake(socket: &mut WebSocket, error: &HandshakeError, send_timeout: Duration) {
    let answer = protocol::handshake_error(error);
    if send_text(socket, answer, send_timeout).await.is_ok() {
        close_socket(socket, 1002, &send_timeout).await;
    }
}

/// Sends the Close message for `cause`, then a WebSocket close frame, then lingers briefly.
async fn goodbye(socket: &mut WebSocket, cause: &CloseCause, send_timeout: Duration) {
    let message = protocol::close(cause.error_text().as_deref(), cause.allow_reconnect());
    if send_text(socket, message, send_timeout).await.is_err() {
        return;
    }
    close_socket(socket, cause.websocket_code(), &send_timeout).await;
}

/// Sends a WebSocket close frame and waits briefly for the client's.
async fn close_socket(socket: &mut WebSocket, code: u16, send_timeout: &Duration) {
    let frame = Message::Close(Some(CloseFrame {
        code,
        reason: Utf8Bytes::from_static(""),
    }));
    if matches!(
        tokio::time::timeout(*send_timeout, socket.send(frame)).await,
        Ok(Ok(()))
    ) {
        linger(socket).await;
    }
}

/// Reads until the socket ends (answering a close frame on the way), for a short while.
async fn linger(socket: &mut WebSocket) {
    let _ended_or_timed_out = tokio::time::timeout(CLOSE_LINGER, async {
        while let Some(Ok(_)) = socket.recv().await {}
    })
    .await;
}

async fn send_text(
    socket: &mut WebSocket,
    text: String,
    timeout: Duration,
) -> Result<(), WriteFailed> {
    match tokio::time::timeout(timeout, socket.send(Message::text(text))).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(_)) | Err(_) => Err(WriteFailed),
    }
}

/// How long the principal's token stays acceptable: until `exp` plus the validator's clock
/// leeway, as validation itself allows (zero when that has passed).
fn until_expiry(principal: &Principal, leeway: Duration) -> Duration {
    let remaining = Duration::try_from(principal.expires_at - OffsetDateTime::now_utc())
        .unwrap_or(Duration::ZERO);
    remaining.saturating_add(leeway)
}
