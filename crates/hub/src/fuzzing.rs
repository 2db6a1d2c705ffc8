//! Entry points for the fuzzer (`fuzz/`) and the replay of its seed corpus; not an API.
//!
//! Compiled for this crate's tests and with the `fuzzing` feature only. Each entry point takes
//! arbitrary bytes, drives the protocol module as a connection would, and panics when one of
//! the protocol module's guarantees does not hold.

use orderflow_app::TraceContext;
use serde_json::Value;

use crate::protocol::{self, ClientMessage, RECORD_SEPARATOR, RecordReader};

/// The record limit the fuzzer reads with: small, so inputs reach it.
const MAX_RECORD_BYTES: usize = 512;

/// `data` as the text of WebSocket frames (split at NUL): the first record is the handshake,
/// every later one a client message. Every record stays within the limit and is a piece of
/// what was sent, decoding never panics, and every answer is one JSON record.
pub fn hub_frames(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return; // Text frames are UTF-8; the transport refuses anything else.
    };
    let mut reader = RecordReader::new(MAX_RECORD_BYTES);
    let mut records = Vec::new();
    let mut received = String::new();
    for frame in text.split('\0') {
        let Ok(complete) = reader.push_frame(frame) else {
            break;
        };
        received.push_str(frame);
        records.extend(complete);
    }
    let mut framed = String::new();
    for (index, record) in records.iter().enumerate() {
        assert!(record.len() <= MAX_RECORD_BYTES, "a record over the limit");
        framed.push_str(record);
        framed.push(RECORD_SEPARATOR);
        if index == 0 {
            if let Err(error) = protocol::parse_handshake(record) {
                one_json_record(&protocol::handshake_error(&error));
            }
            continue;
        }
        match protocol::decode_client_message(record) {
            Ok(message) => answer(&message),
            Err(error) => {
                one_json_record(&protocol::close(Some(&error.to_string()), false));
            }
        }
    }
    assert!(
        received.starts_with(&framed),
        "records are not what was sent"
    );
}

/// Encodes what the hub would send back about `message` and checks it reads back.
fn answer(message: &ClientMessage) {
    match message {
        ClientMessage::Invocation {
            invocation_id: Some(id),
            target,
        } => {
            let body = one_json_record(&protocol::invocation(
                id,
                target,
                "null",
                &TraceContext::none(),
            ));
            assert_eq!(body["invocationId"].as_str(), Some(id.as_str()));
            assert_eq!(body["target"].as_str(), Some(target.as_str()));
            let body = one_json_record(&protocol::completion_error(id, target));
            assert_eq!(body["error"].as_str(), Some(target.as_str()));
        }
        ClientMessage::Invocation { target, .. } => {
            let body = one_json_record(&protocol::invocation_without_result(
                target,
                "{}",
                &TraceContext::none(),
            ));
            assert_eq!(body["target"].as_str(), Some(target.as_str()));
        }
        ClientMessage::StreamInvocation { invocation_id, .. }
        | ClientMessage::Completion { invocation_id, .. } => {
            assert!(
                invocation_id.chars().count() <= 128,
                "an invocation id over 128"
            );
            let body = one_json_record(&protocol::completion_error(invocation_id, "no"));
            assert_eq!(body["invocationId"].as_str(), Some(invocation_id.as_str()));
        }
        ClientMessage::StreamItem
        | ClientMessage::CancelInvocation
        | ClientMessage::Ping
        | ClientMessage::Close
        | ClientMessage::Ack { .. }
        | ClientMessage::Sequence { .. } => {}
    }
}

/// `text` is exactly one JSON object followed by the record separator; returns the object.
fn one_json_record(text: &str) -> Value {
    let body = text
        .strip_suffix(RECORD_SEPARATOR)
        .expect("a record ends with the separator");
    assert!(
        !body.contains(RECORD_SEPARATOR),
        "a separator inside a record"
    );
    let value: Value = serde_json::from_str(body).expect("a record is JSON");
    assert!(value.is_object(), "a record is a JSON object");
    value
}

#[cfg(test)]
#[path = "../../../fuzz/seeds.rs"]
mod seeds;

#[cfg(test)]
mod tests {
    use super::seeds::seeds;
    use super::*;

    #[test]
    fn every_seed_of_the_hub_frames_corpus_is_decoded_without_a_panic() {
        seeds("hub_frames").iter().for_each(|seed| hub_frames(seed));
    }
}
