//! The SignalR JSON hub protocol: records, the handshake, and the messages both sides send.
//!
//! Pure and synchronous: no I/O here. Guarantees:
//! - a record is never longer than the configured limit, and a partial record waiting for the
//!   rest of its text is bounded by the same limit;
//! - decoding never panics: whatever a client sends is a [`ClientMessage`], or a
//!   [`ProtocolError`] that says what was wrong (its text goes into a Close message);
//! - every frame the server sends ([`frames`]) is one JSON object terminated by the record
//!   separator, with strings escaped by serde_json.
//!
//! Only the `json` protocol is spoken. The stateful-reconnect messages (`Ack`, `Sequence`) are
//! decoded here; whether they are allowed on a connection is the connection's business.

use serde::Deserialize;
use serde_json::Value;

/// The ASCII record separator that terminates every JSON record (handshake included).
pub(crate) const RECORD_SEPARATOR: char = '\u{1e}';

/// The only hub protocol spoken.
pub(crate) const JSON_PROTOCOL: &str = "json";

/// The highest `json` protocol version accepted in a handshake.
pub(crate) const MAX_JSON_PROTOCOL_VERSION: u32 = 2;

/// The JS client's completion error when a handler returned nothing (or no handler exists).
pub(crate) const NO_RESULT_ERROR: &str = "Client didn't provide a result.";

/// Invocation ids longer than this are a protocol error (the spec lets callees bound them).
const MAX_INVOCATION_ID_CHARS: usize = 128;

/// Why a connection is closed for what the client sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ProtocolError {
    /// A record (or an unterminated partial record) is longer than the limit.
    #[error("message exceeds the maximum size of {limit} bytes")]
    MessageTooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// The WebSocket carried a binary frame; only Text frames are accepted.
    #[error("binary frames are not supported: use the json protocol over text frames")]
    BinaryFrame,
    /// A record is not a JSON object of the expected shape.
    #[error("malformed message: {0}")]
    Malformed(String),
    /// A required property is missing.
    #[error("malformed message: missing property '{0}'")]
    MissingProperty(&'static str),
    /// The `type` is not one of the protocol's message types.
    #[error("unknown message type {0}")]
    UnknownMessageType(i64),
    /// `Ack`/`Sequence` arrived, but stateful reconnect was never negotiated.
    #[error("stateful reconnect was not negotiated (message type {0})")]
    StatefulReconnectNotNegotiated(i64),
    /// After a reconnect, the client's `Sequence` starts past what this side received.
    #[error("sequence id {sequence_id} is beyond the {received} messages received")]
    SequenceBeyondReceived {
        /// The client's `sequenceId`.
        sequence_id: u64,
        /// How many counted messages this side received.
        received: u64,
    },
    /// An invocation id beyond [`MAX_INVOCATION_ID_CHARS`].
    #[error("invocation id longer than {MAX_INVOCATION_ID_CHARS} characters")]
    InvocationIdTooLong,
    /// A completion carried both a result and an error.
    #[error("a completion carried both a result and an error")]
    ResultAndError,
    /// The WebSocket itself failed (a frame over the transport limit, invalid UTF-8…).
    #[error("transport error: {0}")]
    Transport(String),
}

/// Splits the text of WebSocket frames into records at the record separator.
///
/// A record may span frames; what is left after the last separator waits for the next frame.
#[derive(Debug)]
pub(crate) struct RecordReader {
    partial: String,
    max_record_bytes: usize,
}

impl RecordReader {
    pub(crate) fn new(max_record_bytes: usize) -> Self {
        Self {
            partial: String::new(),
            max_record_bytes,
        }
    }

    /// Appends a frame's text and returns the records it completed, in order.
    pub(crate) fn push_frame(&mut self, text: &str) -> Result<Vec<String>, ProtocolError> {
        let too_large = ProtocolError::MessageTooLarge {
            limit: self.max_record_bytes,
        };
        let mut records = Vec::new();
        let mut rest = text;
        while let Some(end) = rest.find(RECORD_SEPARATOR) {
            let piece = &rest[..end];
            if self.partial.len() + piece.len() > self.max_record_bytes {
                return Err(too_large);
            }
            let mut record = std::mem::take(&mut self.partial);
            record.push_str(piece);
            records.push(record);
            rest = &rest[end + RECORD_SEPARATOR.len_utf8()..];
        }
        if self.partial.len() + rest.len() > self.max_record_bytes {
            return Err(too_large);
        }
        self.partial.push_str(rest);
        Ok(records)
    }
}

/// Why a handshake is refused; the text is sent back as `{"error": …}`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum HandshakeError {
    #[error("the handshake request is malformed: {0}")]
    Malformed(String),
    #[error("Requested protocol '{0}' is not available.")]
    UnsupportedProtocol(String),
    #[error("The server does not support version {0} of the 'json' protocol.")]
    UnsupportedVersion(u64),
    /// The handshake was fine, but the connection is over a limit (per user, or the hub's).
    #[error("{0}")]
    NotAdmitted(String),
}

#[derive(Debug, Deserialize)]
struct HandshakeRequest {
    protocol: Option<String>,
    version: Option<u64>,
}

/// Checks the client's first record: `{"protocol":"json","version":1}` (versions 0 to 2);
/// returns the version.
pub(crate) fn parse_handshake(record: &str) -> Result<u32, HandshakeError> {
    let request: HandshakeRequest = serde_json::from_str(record)
        .map_err(|error| HandshakeError::Malformed(error.to_string()))?;
    let protocol = request
        .protocol
        .ok_or_else(|| HandshakeError::Malformed("missing property 'protocol'".into()))?;
    let version = request
        .version
        .ok_or_else(|| HandshakeError::Malformed("missing property 'version'".into()))?;
    if protocol != JSON_PROTOCOL {
        return Err(HandshakeError::UnsupportedProtocol(protocol));
    }
    u32::try_from(version)
        .ok()
        .filter(|version| *version <= MAX_JSON_PROTOCOL_VERSION)
        .ok_or(HandshakeError::UnsupportedVersion(version))
}

/// How the client completed an invocation the server made.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum CompletionOutcome {
    /// A result (`None` for a void completion or `"result": null`).
    Result(Option<Value>),
    /// An error string.
    Error(String),
}

/// A message from the client, after the handshake.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ClientMessage {
    /// A call of a hub method; without an id the client expects no answer.
    Invocation {
        invocation_id: Option<String>,
        target: String,
    },
    /// A call of a streaming hub method.
    StreamInvocation {
        invocation_id: String,
        target: String,
    },
    /// An item of an upload stream.
    StreamItem,
    /// The answer to an invocation the server made.
    Completion {
        invocation_id: String,
        outcome: CompletionOutcome,
    },
    /// The client cancels one of its own invocations.
    CancelInvocation,
    /// Keep-alive.
    Ping,
    /// The client is closing the connection.
    Close,
    /// Stateful reconnect: the client received every counted message up to `sequence_id`.
    Ack { sequence_id: u64 },
    /// Stateful reconnect: the next counted message the client sends has this id.
    Sequence { sequence_id: u64 },
}

impl ClientMessage {
    /// Whether the message counts in stateful reconnect's sequence ids: invocations, stream
    /// items, completions, stream invocations and cancellations do; pings, closes, acks and
    /// sequences do not.
    pub(crate) fn is_sequenced(&self) -> bool {
        matches!(
            self,
            Self::Invocation { .. }
                | Self::StreamItem
                | Self::Completion { .. }
                | Self::StreamInvocation { .. }
                | Self::CancelInvocation
        )
    }
}

/// Every property any client message may carry; unknown ones (e.g. `headers`) are ignored.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawMessage {
    #[serde(rename = "type")]
    kind: Option<i64>,
    invocation_id: Option<String>,
    target: Option<String>,
    result: Option<Value>,
    error: Option<String>,
    sequence_id: Option<u64>,
}

/// Decodes one record received after the handshake.
pub(crate) fn decode_client_message(record: &str) -> Result<ClientMessage, ProtocolError> {
    let raw: RawMessage = serde_json::from_str(record)
        .map_err(|error| ProtocolError::Malformed(error.to_string()))?;
    if raw
        .invocation_id
        .as_ref()
        .is_some_and(|id| id.chars().count() > MAX_INVOCATION_ID_CHARS)
    {
        return Err(ProtocolError::InvocationIdTooLong);
    }
    let kind = raw.kind.ok_or(ProtocolError::MissingProperty("type"))?;
    let message = match kind {
        1 => ClientMessage::Invocation {
            invocation_id: raw.invocation_id,
            target: raw.target.ok_or(ProtocolError::MissingProperty("target"))?,
        },
        2 => {
            require(raw.invocation_id, "invocationId")?;
            ClientMessage::StreamItem
        }
        3 => {
            let invocation_id = require(raw.invocation_id, "invocationId")?;
            let outcome = match (raw.error, raw.result) {
                (Some(_), Some(result)) if !result.is_null() => {
                    return Err(ProtocolError::ResultAndError);
                }
                (Some(error), _) => CompletionOutcome::Error(error),
                (None, result) => CompletionOutcome::Result(result),
            };
            ClientMessage::Completion {
                invocation_id,
                outcome,
            }
        }
        4 => ClientMessage::StreamInvocation {
            invocation_id: require(raw.invocation_id, "invocationId")?,
            target: require(raw.target, "target")?,
        },
        5 => {
            require(raw.invocation_id, "invocationId")?;
            ClientMessage::CancelInvocation
        }
        6 => ClientMessage::Ping,
        7 => ClientMessage::Close,
        8 => ClientMessage::Ack {
            sequence_id: raw
                .sequence_id
                .ok_or(ProtocolError::MissingProperty("sequenceId"))?,
        },
        9 => ClientMessage::Sequence {
            sequence_id: raw
                .sequence_id
                .ok_or(ProtocolError::MissingProperty("sequenceId"))?,
        },
        other => return Err(ProtocolError::UnknownMessageType(other)),
    };
    Ok(message)
}

fn require(value: Option<String>, property: &'static str) -> Result<String, ProtocolError> {
    value.ok_or(ProtocolError::MissingProperty(property))
}

#[path = "protocol_frames.rs"]
mod frames;
pub(crate) use frames::*;

#[cfg(test)]
#[path = "protocol_tests.rs"]
mod tests;
