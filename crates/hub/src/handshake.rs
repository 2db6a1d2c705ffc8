//! Reading the client's handshake, the first thing on every connection.
//!
//! Guarantees:
//! - a handshake for anything but the `json` protocol, versions 0 to 2, is refused with the
//!   reason (the caller answers `{"error": …}` and closes the socket);
//! - so is a binary frame that is not, by itself, a complete handshake record in UTF-8 text:
//!   clients of binary protocols send their handshake that way, and anything else in a binary
//!   frame (MessagePack, random bytes) is answered at once instead of waiting for the
//!   handshake timeout;
//! - a handshake that does not arrive within the timeout ends the connection (no answer);
//! - records that arrived after the handshake in the same frame are returned, not lost, with
//!   the protocol version asked for (stateful reconnect needs version 2).

use std::time::Duration;

use axum::extract::ws::{Message, WebSocket};
use tokio::time::Instant;

use crate::protocol::{self, HandshakeError, RecordReader};

/// Why no connection follows the handshake.
#[derive(Debug)]
pub(crate) enum HandshakeFailure {
    /// The client left first.
    Gone,
    /// Nothing complete arrived in time.
    TimedOut,
    /// The handshake is refused for this reason.
    Refused(HandshakeError),
}

/// An accepted handshake.
#[derive(Debug)]
pub(crate) struct Handshake {
    /// The `json` protocol version the client asked for.
    pub(crate) version: u32,
    /// The records that arrived after the handshake in the same frame.
    pub(crate) early_records: Vec<String>,
}

/// Reads the handshake request.
pub(crate) async fn handshake(
    socket: &mut WebSocket,
    reader: &mut RecordReader,
    timeout: Duration,
) -> Result<Handshake, HandshakeFailure> {
    let deadline = Instant::now() + timeout;
    loop {
        let message = match tokio::time::timeout_at(deadline, socket.recv()).await {
            Err(_elapsed) => return Err(HandshakeFailure::TimedOut),
            Ok(None | Some(Ok(Message::Close(_)))) => return Err(HandshakeFailure::Gone),
            Ok(Some(Err(error))) => return Err(malformed(error.to_string())),
            Ok(Some(Ok(message))) => message,
        };
        // The handshake is JSON text whatever protocol follows; some clients of binary
        // protocols send it in a binary frame, so accept it there too to answer properly.
        let (text, binary) = match message {
            Message::Text(text) => (text.as_str().to_owned(), false),
            Message::Binary(bytes) => {
                let text = String::from_utf8(bytes.to_vec())
                    .map_err(|_| malformed("a binary frame that is not UTF-8 text".into()))?;
                (text, true)
            }
            Message::Ping(_) | Message::Pong(_) => continue,
            Message::Close(_) => return Err(HandshakeFailure::Gone),
        };
        let mut records = reader
            .push_frame(&text)
            .map_err(|error| malformed(error.to_string()))?;
        if records.is_empty() {
            if binary {
                return Err(malformed(
                    "a binary frame that is not a complete handshake record; send the \
                     handshake as JSON text ending with the record separator"
                        .into(),
                ));
            }
            continue;
        }
        let early_records = records.split_off(1);
        let version = protocol::parse_handshake(&records[0]).map_err(HandshakeFailure::Refused)?;
        return Ok(Handshake {
            version,
            early_records,
        });
    }
}

fn malformed(reason: String) -> HandshakeFailure {
    HandshakeFailure::Refused(HandshakeError::Malformed(reason))
}
