//! The JSON hub protocol on the wire: handshake, bad input, pings, timeouts, expiry.

use std::time::Duration;

use futures::SinkExt;
use orderflow_hub::HubConfig;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::support::{HubClient, RS, Received, TestHub};

/// A connected client that has not sent its handshake yet.
async fn unshaken_client(running: &TestHub, username: &str) -> HubClient {
    let token = running.token(username);
    let connection_token = running.negotiate_token(&token).await;
    let socket = running
        .open_socket(&format!("?id={connection_token}"), Some(&token))
        .await
        .unwrap();
    HubClient::new(socket)
}

fn assert_error_close(close: &Value, fragment: &str) {
    let error = close["error"].as_str().unwrap_or_else(|| {
        panic!("the Close message carries an error: {close}");
    });
    assert!(
        error.contains(fragment),
        "the error {error:?} mentions {fragment:?}"
    );
    assert!(
        close.get("allowReconnect").is_none(),
        "no reconnect after a protocol error: {close}"
    );
}

#[tokio::test]
async fn a_messagepack_handshake_is_answered_with_an_error_and_the_socket_closes() {
    let running = TestHub::start().await;
    let mut client = unshaken_client(&running, "alice").await;
    client
        .send_record(json!({"protocol": "messagepack", "version": 1}))
        .await;
    match client.next().await {
        Received::Record(answer) => assert_eq!(
            answer,
            json!({"error": "Requested protocol 'messagepack' is not available."})
        ),
        Received::SocketClosed => panic!("expected a handshake error"),
    }
    assert!(matches!(client.next().await, Received::SocketClosed));
}

#[tokio::test]
async fn a_json_handshake_above_version_two_is_refused() {
    let running = TestHub::start().await;
    let mut client = unshaken_client(&running, "alice").await;
    client
        .send_record(json!({"protocol": "json", "version": 3}))
        .await;
    let Received::Record(answer) = client.next().await else {
        panic!("expected a handshake error");
    };
    assert!(answer["error"].as_str().unwrap().contains("version 3"));
}

#[tokio::test]
async fn version_two_of_json_is_accepted_and_records_after_the_handshake_are_processed() {
    let running = TestHub::start().await;
    let mut client = unshaken_client(&running, "alice").await;
    // The handshake and an invocation in one frame.
    client
        .send_text(&format!(
            "{}{RS}{}{RS}",
            json!({"protocol": "json", "version": 2}),
            json!({"type": 1, "invocationId": "1", "target": "Subscribe", "arguments": []})
        ))
        .await;
    assert_eq!(client.next_message().await, json!({}));
    let completion = client.next_message().await;
    assert_eq!(completion["type"], 3);
    assert_eq!(completion["invocationId"], "1");
    assert!(
        completion["error"]
            .as_str()
            .unwrap()
            .contains("Unknown hub method 'Subscribe'")
    );
}

#[tokio::test]
async fn invoking_an_unknown_method_is_answered_with_a_completion_error_and_the_connection_lives() {
    let running = TestHub::start().await;
    let mut client = running.client("alice").await;
    client
        .send_record(json!({"type": 1, "invocationId": "42", "target": "Nope", "arguments": [1]}))
        .await;
    let completion = client.next_message().await;
    assert_eq!(completion["invocationId"], "42");
    assert!(completion["error"].is_string());
    assert!(completion.get("result").is_none());
    // Non-blocking invocations, stream items, cancels and pings get no answer; the
    // connection stays usable.
    client
        .send_record(json!({"type": 1, "target": "Nope", "arguments": []}))
        .await;
    client
        .send_record(json!({"type": 2, "invocationId": "s1", "item": 1}))
        .await;
    client
        .send_record(json!({"type": 5, "invocationId": "42"}))
        .await;
    client.send_record(json!({"type": 6})).await;
    client
        .send_record(json!({"type": 4, "invocationId": "43", "target": "Stream", "arguments": []}))
        .await;
    let completion = client.next_message().await;
    assert_eq!(completion["invocationId"], "43");
    assert!(completion["error"].is_string());
}

#[tokio::test]
async fn malformed_json_gets_a_close_message_with_an_error() {
    let running = TestHub::start().await;
    let mut client = running.client("alice").await;
    client.send_text(&format!("{{\"type\":1,{RS}")).await;
    let close = client.expect_close_message().await;
    assert_error_close(&close, "malformed");
}

#[tokio::test]
async fn an_unknown_message_type_gets_a_close_message_with_an_error() {
    let running = TestHub::start().await;
    let mut client = running.client("alice").await;
    client.send_record(json!({"type": 99})).await;
    let close = client.expect_close_message().await;
    assert_error_close(&close, "unknown message type 99");
}

#[tokio::test]
async fn stateful_reconnect_messages_are_refused_on_a_connection_that_did_not_ask_for_it() {
    let running = TestHub::start().await;
    let mut client = running.client("alice").await;
    client
        .send_record(json!({"type": 8, "sequenceId": 1}))
        .await;
    let close = client.expect_close_message().await;
    assert_error_close(&close, "stateful reconnect");
}

#[tokio::test]
async fn a_message_over_the_size_limit_gets_a_close_message_with_an_error() {
    let running = TestHub::start().await;
    let mut client = running.client("alice").await;
    let oversized = format!(
        "{}{RS}",
        json!({"type": 1, "target": "x", "arguments": ["a".repeat(40 * 1024)]})
    );
    client.send_text(&oversized).await;
    let close = client.expect_close_message().await;
    assert_error_close(&close, "maximum size of 32768 bytes");
}

#[tokio::test]
async fn a_frame_over_the_transport_limit_gets_a_close_message_with_an_error() {
    let running = TestHub::start().await;
    let mut client = running.client("alice").await;
    let oversized = format!("{{\"type\":6,\"x\":\"{}\"}}{RS}", "a".repeat(200 * 1024));
    client.send_text(&oversized).await;
    let close = client.next_message().await;
    assert_eq!(close["type"], 7, "{close}");
    assert_error_close(&close, "transport error");
}

#[tokio::test]
async fn a_client_that_sends_no_handshake_is_disconnected_without_an_answer() {
    let running = TestHub::start_with(HubConfig {
        handshake_timeout: Duration::from_millis(300),
        ..HubConfig::default()
    })
    .await;
    let mut client = unshaken_client(&running, "alice").await;
    assert!(matches!(client.next().await, Received::SocketClosed));
    assert_eq!(running.hub.connection_count(), 0);
}

#[tokio::test]
async fn an_unterminated_record_over_the_size_limit_is_refused_too() {
    let running = TestHub::start().await;
    let mut client = running.client("alice").await;
    let chunk = "a".repeat(20 * 1024);
    client
        .send_text(&format!("{{\"type\":1,\"x\":\"{chunk}"))
        .await;
    client.send_text(&chunk).await;
    let close = client.expect_close_message().await;
    assert_error_close(&close, "maximum size");
}

#[tokio::test]
async fn a_binary_frame_gets_a_close_message_with_an_error() {
    let running = TestHub::start().await;
    let mut client = running.client("alice").await;
    client
        .socket
        .send(Message::binary(vec![0x91, 0x06]))
        .await
        .unwrap();
    let close = client.expect_close_message().await;
    assert_error_close(&close, "binary frames are not supported");
}

#[tokio::test]
async fn the_hub_pings_an_idle_connection() {
    let running = TestHub::start_with(HubConfig {
        keep_alive_interval: Duration::from_millis(200),
        ..HubConfig::default()
    })
    .await;
    let mut client = running.client("alice").await;
    let started = tokio::time::Instant::now();
    for _ in 0..2 {
        match client.next().await {
            Received::Record(record) => assert_eq!(record, json!({"type": 6})),
            Received::SocketClosed => panic!("expected a ping"),
        }
    }
    assert!(started.elapsed() >= Duration::from_millis(350));
}

#[tokio::test]
async fn a_client_that_stays_silent_past_the_client_timeout_is_closed() {
    let running = TestHub::start_with(HubConfig {
        keep_alive_interval: Duration::from_millis(100),
        client_timeout: Duration::from_millis(500),
        ..HubConfig::default()
    })
    .await;
    let mut chatty = running.client("bob").await;
    let started = tokio::time::Instant::now();
    let mut silent = running.client("alice").await;
    // bob keeps talking, alice does not.
    let close = loop {
        chatty.send_record(json!({"type": 6})).await;
        match silent.next_within(Duration::from_millis(100)).await {
            Some(Received::Record(record)) if record["type"] == 7 => break record,
            Some(Received::SocketClosed) => panic!("closed without a Close message"),
            _ => assert!(started.elapsed() < Duration::from_secs(5), "never closed"),
        }
    };
    assert!(close["error"].as_str().unwrap().contains("timeout"));
    assert!(started.elapsed() >= Duration::from_millis(500));
    assert_eq!(
        running.hub.connections_of(&crate::support::user_id("bob")),
        1,
        "a client that talks stays connected"
    );
}

#[tokio::test]
async fn a_connection_whose_token_expires_is_closed_without_reconnect() {
    let running = TestHub::start().await;
    let short_lived = running
        .issuer
        .clone()
        .with_token_lifetime(Duration::from_secs(2))
        .issue_for_user("alice")
        .unwrap()
        .access_token;
    let socket = running.open_socket("", Some(&short_lived)).await.unwrap();
    let mut client = HubClient::new(socket);
    client.handshake().await;
    let close = client.expect_close_message().await;
    assert_error_close(&close, "expired");
}

#[tokio::test]
async fn a_client_close_message_ends_the_connection() {
    let running = TestHub::start().await;
    let mut client = running.client("alice").await;
    assert_eq!(running.hub.connection_count(), 1);
    client.send_record(json!({"type": 7})).await;
    assert!(matches!(client.next().await, Received::SocketClosed));
    // The hub forgets the connection once its task has ended.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while running.hub.connection_count() > 0 {
        assert!(tokio::time::Instant::now() < deadline, "never deregistered");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_binary_frame_instead_of_the_handshake_is_answered_with_an_error_at_once() {
    let running = TestHub::start().await;
    for frame in [vec![0x91, 0x06], b"{\"protocol\":\"json\"".to_vec()] {
        let mut client = unshaken_client(&running, "alice").await;
        client.socket.send(Message::binary(frame)).await.unwrap();
        let answer = client
            .next_within(Duration::from_secs(2))
            .await
            .expect("an answer long before the 15 s handshake timeout");
        let Received::Record(answer) = answer else {
            panic!("expected a handshake error, the socket closed");
        };
        assert!(
            answer["error"].as_str().unwrap().contains("binary frame"),
            "{answer}"
        );
        assert!(matches!(client.next().await, Received::SocketClosed));
    }
}
