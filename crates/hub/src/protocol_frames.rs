//! The frames the server sends: the handshake answer, pings, stateful reconnect's `Ack` and
//! `Sequence`, Close, completions and `PushUpdate` invocations.
//!
//! Guarantees: every frame is one JSON object terminated by the record separator, with
//! strings escaped by serde_json.

use std::collections::BTreeMap;

use orderflow_app::TraceContext;
use serde::Serialize;
use serde_json::Value;

use super::{HandshakeError, RECORD_SEPARATOR};

/// The successful handshake response.
pub(crate) const HANDSHAKE_OK: &str = "{}\u{1e}";

/// The keep-alive message.
pub(crate) const PING: &str = "{\"type\":6}\u{1e}";

/// Stateful reconnect's `Ack`: every counted message up to `sequence_id` arrived.
pub(crate) fn ack(sequence_id: u64) -> String {
    format!("{{\"type\":8,\"sequenceId\":{sequence_id}}}{RECORD_SEPARATOR}")
}

/// Stateful reconnect's `Sequence`: the next counted message sent has id `sequence_id`.
pub(crate) fn sequence(sequence_id: u64) -> String {
    format!("{{\"type\":9,\"sequenceId\":{sequence_id}}}{RECORD_SEPARATOR}")
}

/// A handshake response refusing the connection.
pub(crate) fn handshake_error(error: &HandshakeError) -> String {
    let body = serde_json::json!({ "error": error.to_string() });
    format!("{body}{RECORD_SEPARATOR}")
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CloseMessage<'a> {
    #[serde(rename = "type")]
    kind: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    allow_reconnect: bool,
}

/// A Close message, with an error and/or the permission to reconnect.
pub(crate) fn close(error: Option<&str>, allow_reconnect: bool) -> String {
    encode(&CloseMessage {
        kind: 7,
        error,
        allow_reconnect,
    })
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CompletionErrorMessage<'a> {
    #[serde(rename = "type")]
    kind: u8,
    invocation_id: &'a str,
    error: &'a str,
}

/// A completion with an error, answering one of the client's invocations.
pub(crate) fn completion_error(invocation_id: &str, error: &str) -> String {
    encode(&CompletionErrorMessage {
        kind: 3,
        invocation_id,
        error,
    })
}

/// An invocation that expects no completion (no `invocationId`), with one argument already
/// encoded as JSON: for clients that never answer client results. `trace` goes into the
/// invocation's `headers` (`traceparent`, `tracestate`), as ASP.NET Core does.
pub(crate) fn invocation_without_result(
    target: &str,
    argument_json: &str,
    trace: &TraceContext,
) -> String {
    let target = Value::from(target);
    let headers = invocation_headers(trace);
    format!(
        "{{\"type\":1,{headers}\"target\":{target},\"arguments\":[{argument_json}]}}{RECORD_SEPARATOR}"
    )
}

/// An invocation that expects a completion, with one argument already encoded as JSON, and
/// `trace` in its `headers`.
pub(crate) fn invocation(
    invocation_id: &str,
    target: &str,
    argument_json: &str,
    trace: &TraceContext,
) -> String {
    let id = Value::from(invocation_id);
    let target = Value::from(target);
    let headers = invocation_headers(trace);
    format!(
        "{{\"type\":1,{headers}\"invocationId\":{id},\"target\":{target},\"arguments\":[{argument_json}]}}{RECORD_SEPARATOR}"
    )
}

/// `"headers":{…},` with the trace context, or nothing when there is none.
fn invocation_headers(trace: &TraceContext) -> String {
    if trace.is_none() {
        return String::new();
    }
    let mut headers = BTreeMap::new();
    trace.write_to(&mut headers);
    let headers: serde_json::Map<String, Value> = headers
        .into_iter()
        .map(|(name, value)| (name, Value::from(value)))
        .collect();
    format!("\"headers\":{},", Value::Object(headers))
}

fn encode(message: &impl Serialize) -> String {
    // Serialising these derived structs of strings and numbers cannot fail; should it ever,
    // an empty object still keeps the framing intact.
    let mut text = serde_json::to_string(message).unwrap_or_else(|_| "{}".to_owned());
    text.push(RECORD_SEPARATOR);
    text
}
