//! Stateful reconnect (issue 12, part 2): with the official client through a proxy that cuts
//! every socket without a Close, and with a raw client for who may resume what.

use std::time::Duration;

use orderflow_hub::{HubConfig, PendingPush};
use orderflow_testkit::cutting_proxy::{CuttingProxy, Gate};
use orderflow_testkit::signalr::SignalrClient;
use serde_json::{Value, json};

use crate::support::{
    HubClient, PATIENCE, Received, TestHub, order_confirmed, refused_status, user_id,
};

/// Starts a push of `order` to alice (queued now, acknowledgements awaited later).
fn start_push(running: &TestHub, order: &str) -> (String, PendingPush) {
    let update = order_confirmed(order);
    let message_id = update["messageId"].as_str().unwrap().to_owned();
    let pending = running
        .hub
        .start_push(&[user_id("alice")], update, Duration::from_secs(10));
    (message_id, pending)
}

/// Reads the client's events until `received` holds `count` message ids; every event must be
/// a push on `connection_id` (no `reconnecting`/`reconnected`: a stateful reconnect is not one).
async fn receive_pushes(
    node: &mut SignalrClient,
    connection_id: &Value,
    received: &mut Vec<String>,
    count: usize,
) {
    while received.len() < count {
        let event = node.next_event().await;
        assert_eq!(
            event["event"],
            "push",
            "only pushes, no reconnect of the usual kind\n{}",
            node.diagnostics()
        );
        assert_eq!(
            &event["connectionId"],
            connection_id,
            "{}",
            node.diagnostics()
        );
        received.push(event["update"]["messageId"].as_str().unwrap().to_owned());
    }
}

#[tokio::test]
async fn the_official_client_keeps_its_connection_and_every_push_in_order_across_cut_sockets() {
    let running = TestHub::start().await;
    let proxy = CuttingProxy::start(running.address).await;
    let mut node = SignalrClient::node(
        &proxy.url("/hubs/push-updates"),
        &running.token("alice"),
        "stateful",
    )
    .await;
    let connection_id = node.expect_event("connected").await["connectionId"].clone();

    let mut expected = Vec::new();
    let mut pending = Vec::new();
    let mut push = |order: String| {
        let (message_id, push) = start_push(&running, &order);
        expected.push(message_id);
        pending.push(push);
    };
    for index in 0..5 {
        push(format!("before-{index}"));
    }
    // Mid-stream: pushes are on their way when every socket is cut.
    for index in 0..5 {
        push(format!("cut-{index}"));
    }
    let accepted_before_cut = proxy.accepted();
    proxy.cut(Gate::Holding).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    for index in 0..5 {
        push(format!("during-{index}"));
    }
    tokio::time::sleep(Duration::from_millis(700)).await;
    proxy.reopen();

    let mut received = Vec::new();
    receive_pushes(&mut node, &connection_id, &mut received, 15).await;
    assert!(
        proxy.accepted() > accepted_before_cut,
        "the client came back on a new socket"
    );
    for index in 0..5 {
        push(format!("after-{index}"));
    }
    receive_pushes(&mut node, &connection_id, &mut received, 20).await;
    assert_eq!(received, expected, "each push once, in order");
    node.expect_no_event("push", Duration::from_millis(1500))
        .await;

    for push in pending {
        let report = push.finish().await;
        assert_eq!(
            report.delivered.len(),
            1,
            "the completion counts, even after the reconnect: {report:?}\n{}",
            node.diagnostics()
        );
    }
    assert_eq!(running.hub.connections_of(&user_id("alice")), 1);
    node.stop().await;
}

/// Negotiates with stateful reconnect for `username` and completes a version-2 handshake;
/// returns the client and its connection token.
async fn stateful_client(running: &TestHub, username: &str) -> (HubClient, String) {
    let token = running.token(username);
    let response = running
        .negotiate(
            "?negotiateVersion=1&useStatefulReconnect=true",
            Some(&token),
        )
        .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["useStatefulReconnect"], true, "{body}");
    let connection_token = body["connectionToken"].as_str().unwrap().to_owned();
    let socket = running
        .open_socket(&format!("?id={connection_token}"), Some(&token))
        .await
        .unwrap();
    let mut client = HubClient::new(socket);
    client
        .send_record(json!({"protocol": "json", "version": 2}))
        .await;
    match client.next().await {
        Received::Record(answer) => assert_eq!(answer, json!({})),
        Received::SocketClosed => panic!("the socket closed instead of the handshake answer"),
    }
    (client, connection_token)
}

/// Opens a new socket of alice on `connection_token`; the hub's `Sequence` comes first, at 1
/// since the client never acknowledged anything.
async fn resume_as_alice(running: &TestHub, connection_token: &str) -> HubClient {
    let socket = running
        .open_socket(
            &format!("?id={connection_token}"),
            Some(&running.token("alice")),
        )
        .await
        .unwrap();
    let mut resumed = HubClient::new(socket);
    assert_eq!(
        resumed.next_message().await,
        json!({"type": 9, "sequenceId": 1})
    );
    resumed
}

/// Waits until alice has `count` connections listed.
async fn until_connections(running: &TestHub, count: usize) {
    tokio::time::timeout(PATIENCE, async {
        while running.hub.connections_of(&user_id("alice")) != count {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the connection count settles");
}

#[tokio::test]
async fn only_its_user_may_resume_a_connection_and_only_before_the_disconnect_timeout() {
    let running = TestHub::start_with(HubConfig {
        disconnect_timeout: Duration::from_secs(1),
        ..HubConfig::default()
    })
    .await;
    let (mut client, connection_token) = stateful_client(&running, "alice").await;
    let (_, pending) = start_push(&running, "o-1");
    let invocation = client.next_message().await;
    assert_eq!(invocation["type"], 1);
    drop(client); // the TCP connection ends without a Close

    let resume = format!("?id={connection_token}");
    let bob = running
        .open_socket(&resume, Some(&running.token("bob")))
        .await;
    assert_eq!(refused_status(bob), 404, "another user's token");
    let unknown = running
        .open_socket("?id=no-such-connection", Some(&running.token("alice")))
        .await;
    assert_eq!(refused_status(unknown), 404, "an unknown id");
    assert_eq!(
        running.hub.connections_of(&user_id("alice")),
        1,
        "still there, inactive"
    );

    let mut resumed = resume_as_alice(&running, &connection_token).await;
    assert_eq!(resumed.next_message().await, invocation, "replayed as sent");
    resumed
        .send_record(json!({"type": 9, "sequenceId": 1}))
        .await;
    resumed
        .complete(&invocation["invocationId"], json!("ok"))
        .await;
    let report = pending.finish().await;
    assert_eq!(report.delivered.len(), 1, "{report:?}");
    assert_eq!(
        resumed.next_message().await,
        json!({"type": 8, "sequenceId": 1}),
        "the hub acknowledges the completion (about a second later)"
    );

    drop(resumed);
    until_connections(&running, 0).await;
    let expired = running
        .open_socket(&resume, Some(&running.token("alice")))
        .await;
    assert_eq!(refused_status(expired), 404, "an expired id");
}

#[tokio::test]
async fn a_peer_sequence_beyond_what_was_received_closes_the_connection_with_an_error() {
    let running = TestHub::start().await;
    let (client, connection_token) = stateful_client(&running, "alice").await;
    drop(client);
    let mut resumed = resume_as_alice(&running, &connection_token).await;
    resumed
        .send_record(json!({"type": 9, "sequenceId": 5}))
        .await;
    let close = resumed.expect_close_message().await;
    assert!(
        close["error"].as_str().unwrap().contains("sequence id 5"),
        "{close}"
    );
}

#[tokio::test]
async fn a_full_replay_buffer_holds_pushes_until_an_ack_and_closes_the_connection_without_one() {
    let running = TestHub::start_with(HubConfig {
        // About two and a half invocations of `order_confirmed`.
        stateful_reconnect_buffer_bytes: 300,
        send_timeout: Duration::from_secs(1),
        ..HubConfig::default()
    })
    .await;
    let (mut client, _) = stateful_client(&running, "alice").await;
    let pushes: Vec<_> = (1..=5)
        .map(|index| start_push(&running, &format!("o-{index}")))
        .collect();
    for _ in 0..3 {
        assert_eq!(client.next_message().await["type"], 1);
    }
    match client.next_within(Duration::from_millis(300)).await {
        None => {}
        Some(Received::Record(record)) => {
            panic!("nothing past the bound before an Ack, got {record}")
        }
        Some(Received::SocketClosed) => panic!("the socket closed"),
    }
    client
        .send_record(json!({"type": 8, "sequenceId": 2}))
        .await;
    for expected in ["4", "5"] {
        assert_eq!(client.next_message().await["invocationId"], expected);
    }
    let close = client.expect_close_message().await;
    assert!(
        close["error"].as_str().unwrap().contains("keep up"),
        "no Ack within the send timeout: {close}"
    );
    drop(pushes);
}
