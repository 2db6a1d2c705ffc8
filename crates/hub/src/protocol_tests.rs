//! Unit tests of `protocol`: framing, decoding and encoding.

use super::*;
use orderflow_app::TraceContext;

fn records(reader: &mut RecordReader, frame: &str) -> Vec<String> {
    reader.push_frame(frame).unwrap()
}

#[test]
fn a_frame_may_hold_several_records_and_a_record_may_span_frames() {
    let mut reader = RecordReader::new(64);
    assert_eq!(
        records(&mut reader, "{\"type\":6}\u{1e}{\"ty"),
        vec!["{\"type\":6}"]
    );
    assert!(records(&mut reader, "pe\":").is_empty());
    assert_eq!(records(&mut reader, "7}\u{1e}"), vec!["{\"type\":7}"]);
}

#[test]
fn a_record_over_the_limit_is_refused_even_before_its_separator() {
    let mut reader = RecordReader::new(8);
    assert_eq!(
        reader.push_frame("123456789"),
        Err(ProtocolError::MessageTooLarge { limit: 8 })
    );
    let mut reader = RecordReader::new(8);
    assert!(reader.push_frame("1234").unwrap().is_empty());
    assert_eq!(
        reader.push_frame("56789\u{1e}"),
        Err(ProtocolError::MessageTooLarge { limit: 8 })
    );
}

#[test]
fn the_json_protocol_is_accepted_up_to_version_two() {
    assert_eq!(parse_handshake(r#"{"protocol":"json","version":1}"#), Ok(1));
    assert_eq!(parse_handshake(r#"{"protocol":"json","version":2}"#), Ok(2));
    assert_eq!(
        parse_handshake(r#"{"protocol":"json","version":3}"#),
        Err(HandshakeError::UnsupportedVersion(3))
    );
}

#[test]
fn messagepack_and_malformed_handshakes_are_refused_with_a_reason() {
    let error = parse_handshake(r#"{"protocol":"messagepack","version":1}"#).unwrap_err();
    assert_eq!(
        handshake_error(&error),
        "{\"error\":\"Requested protocol 'messagepack' is not available.\"}\u{1e}"
    );
    assert!(matches!(
        parse_handshake("{\"type\":6}"),
        Err(HandshakeError::Malformed(_))
    ));
    assert!(matches!(
        parse_handshake("not json"),
        Err(HandshakeError::Malformed(_))
    ));
}

#[test]
fn completions_carry_a_result_or_an_error_but_not_both() {
    assert_eq!(
        decode_client_message(r#"{"type":3,"invocationId":"7","result":{"ok":true}}"#),
        Ok(ClientMessage::Completion {
            invocation_id: "7".into(),
            outcome: CompletionOutcome::Result(Some(serde_json::json!({"ok": true}))),
        })
    );
    assert_eq!(
        decode_client_message(
            r#"{"type":3,"invocationId":"7","error":"Client didn't provide a result."}"#
        ),
        Ok(ClientMessage::Completion {
            invocation_id: "7".into(),
            outcome: CompletionOutcome::Error(NO_RESULT_ERROR.into()),
        })
    );
    assert_eq!(
        decode_client_message(r#"{"type":3,"invocationId":"7","result":1,"error":"x"}"#),
        Err(ProtocolError::ResultAndError)
    );
}

#[test]
fn unknown_types_and_missing_properties_are_protocol_errors_and_stateful_messages_decode() {
    assert_eq!(
        decode_client_message(r#"{"type":42}"#),
        Err(ProtocolError::UnknownMessageType(42))
    );
    assert_eq!(
        decode_client_message(r#"{"target":"x"}"#),
        Err(ProtocolError::MissingProperty("type"))
    );
    assert_eq!(
        decode_client_message(r#"{"type":3}"#),
        Err(ProtocolError::MissingProperty("invocationId"))
    );
    assert_eq!(
        decode_client_message(r#"{"type":8,"sequenceId":1}"#),
        Ok(ClientMessage::Ack { sequence_id: 1 })
    );
    assert_eq!(
        decode_client_message(r#"{"type":9,"sequenceId":4}"#),
        Ok(ClientMessage::Sequence { sequence_id: 4 })
    );
    assert_eq!(
        decode_client_message(r#"{"type":9}"#),
        Err(ProtocolError::MissingProperty("sequenceId"))
    );
    assert!(matches!(
        decode_client_message(r#"{"type":"1"}"#),
        Err(ProtocolError::Malformed(_))
    ));
    assert!(matches!(
        decode_client_message("[1,2"),
        Err(ProtocolError::Malformed(_))
    ));
    let long_id = "x".repeat(MAX_INVOCATION_ID_CHARS + 1);
    assert_eq!(
        decode_client_message(&format!(r#"{{"type":3,"invocationId":"{long_id}"}}"#)),
        Err(ProtocolError::InvocationIdTooLong)
    );
}

#[test]
fn headers_and_unknown_properties_are_ignored() {
    assert_eq!(
        decode_client_message(
            r#"{"type":1,"headers":{"a":"b"},"target":"Echo","arguments":[1],"extra":0}"#
        ),
        Ok(ClientMessage::Invocation {
            invocation_id: None,
            target: "Echo".into()
        })
    );
}

#[test]
fn encoded_messages_are_terminated_and_escaped() {
    assert_eq!(
        close(Some("bad \"frame\""), false),
        "{\"type\":7,\"error\":\"bad \\\"frame\\\"\"}\u{1e}"
    );
    assert_eq!(
        close(None, true),
        "{\"type\":7,\"allowReconnect\":true}\u{1e}"
    );
    assert_eq!(
        invocation(
            "3",
            "PushUpdate",
            r#"{"type":"order-confirmed"}"#,
            &TraceContext::none()
        ),
        "{\"type\":1,\"invocationId\":\"3\",\"target\":\"PushUpdate\",\"arguments\":[{\"type\":\"order-confirmed\"}]}\u{1e}"
    );
    let completion: Value =
        serde_json::from_str(completion_error("9", "nope").trim_end_matches(RECORD_SEPARATOR))
            .unwrap();
    assert_eq!(
        completion,
        serde_json::json!({"type": 3, "invocationId": "9", "error": "nope"})
    );
}

#[test]
fn a_traced_invocation_carries_its_traceparent_in_headers() {
    let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let trace = TraceContext::from_stored(Some(traceparent.into()), Some("vendor=x".into()));
    let decoded = |frame: String| -> Value {
        serde_json::from_str(frame.trim_end_matches(RECORD_SEPARATOR)).unwrap()
    };
    let awaited = decoded(invocation("3", "PushUpdate", "{}", &trace));
    assert_eq!(
        awaited,
        serde_json::json!({
            "type": 1,
            "headers": {"traceparent": traceparent, "tracestate": "vendor=x"},
            "invocationId": "3",
            "target": "PushUpdate",
            "arguments": [{}],
        })
    );
    let unawaited = decoded(invocation_without_result("PushUpdate", "{}", &trace));
    assert_eq!(unawaited["headers"]["traceparent"], traceparent);
    assert!(unawaited.get("invocationId").is_none());
}
