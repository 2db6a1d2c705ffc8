//! Writing to one WebSocket, always within a timeout: text frames, the refusal of a
//! handshake, and the orderly goodbye (a Close message, a close frame, a short linger).
//!
//! Guarantees: no write here waits longer than the send timeout it is given, and no read
//! longer than [`CLOSE_LINGER`]; a failed write is reported as [`WriteFailed`], never a panic.

use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};

use crate::handle::CloseCause;
use crate::protocol::{self, HandshakeError};

/// How long to wait for the client's close frame after ours, so the TCP close is orderly.
const CLOSE_LINGER: Duration = Duration::from_secs(1);

/// Writing to the client failed or timed out.
#[derive(Debug, Clone, Copy)]
pub(crate) struct WriteFailed;

/// Answers the handshake with `error` and closes the socket.
pub(crate) async fn refuse_handshake(
    socket: &mut WebSocket,
    error: &HandshakeError,
    send_timeout: Duration,
) {
    let answer = protocol::handshake_error(error);
    if send_text(socket, answer, send_timeout).await.is_ok() {
        close_socket(socket, 1002, &send_timeout).await;
    }
}

/// Sends the Close message for `cause`, then a WebSocket close frame, then lingers briefly.
pub(crate) async fn goodbye(socket: &mut WebSocket, cause: &CloseCause, send_timeout: Duration) {
    let message = protocol::close(cause.error_text().as_deref(), cause.allow_reconnect());
    if send_text(socket, message, send_timeout).await.is_err() {
        return;
    }
    close_socket(socket, cause.websocket_code(), &send_timeout).await;
}

/// Sends a WebSocket close frame and waits briefly for the client's.
pub(crate) async fn close_socket(socket: &mut WebSocket, code: u16, send_timeout: &Duration) {
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
pub(crate) async fn linger(socket: &mut WebSocket) {
    let _ended_or_timed_out = tokio::time::timeout(CLOSE_LINGER, async {
        while let Some(Ok(_)) = socket.recv().await {}
    })
    .await;
}

pub(crate) async fn send_text(
    socket: &mut WebSocket,
    text: String,
    timeout: Duration,
) -> Result<(), WriteFailed> {
    match tokio::time::timeout(timeout, socket.send(Message::text(text))).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(_)) | Err(_) => Err(WriteFailed),
    }
}
