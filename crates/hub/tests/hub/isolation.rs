//! Isolation: no connection, user or message delays another user's push. The pushes go
//! through the real relay from the in-process bus (as `orderflow up` runs it; the frozen tab
//! also from RabbitMQ, as `orderflow push-hub` runs it), with the
//! default 5 s acknowledgement timeout, to the official `@microsoft/signalr` client, to
//! `signalrcore` (which never answers client results) and to a frozen tab written here: a
//! raw WebSocket that completes the handshake and then never reads nor answers.
//!
//! "Promptly" below is [`PROMPTLY`], far under the acknowledgement timeout: a push that
//! waited behind a frozen or silent client would arrive 5 s late at least.

use std::panic::AssertUnwindSafe;
use std::time::Duration;

use futures::FutureExt;
use orderflow_testkit::signalr::SignalrClient;
use serde_json::{Value, json};
use tokio::time::Instant;

use orderflow_hub::HubConfig;

use crate::relayed::{RabbitRelay, Relayed};
use crate::support::{PATIENCE, RawSocket, TestHub, user_id};

/// A push that did not wait for anybody's acknowledgement arrives well within this.
const PROMPTLY: Duration = Duration::from_secs(1);

/// A suspended tab: negotiates, completes the handshake, then never reads or answers again.
async fn frozen_tab(running: &TestHub, username: &str) -> RawSocket {
    // Nothing is read from here on: what the hub sends piles up in the socket buffers.
    running.client(username).await.socket
}

/// Waits for `client`'s next `push` event and checks it carries `expected`; returns when
/// it arrived.
async fn expect_push(client: &mut SignalrClient, expected: &Value) -> Instant {
    let event = client.expect_event("push").await;
    assert_eq!(&event["update"], expected, "{}", client.diagnostics());
    Instant::now()
}

/// Waits for `client`'s next `push` (carrying `expected`) and checks it arrived within
/// [`PROMPTLY`] of `since`; `what` names it in the failure.
async fn expect_prompt_push(
    client: &mut SignalrClient,
    expected: &Value,
    since: Instant,
    what: &str,
) {
    let waited = expect_push(client, expected).await - since;
    assert!(waited < PROMPTLY, "{what} arrived after {waited:?}");
}

#[tokio::test]
async fn a_frozen_tab_among_healthy_ones_delays_nobody() {
    let running = TestHub::start().await;
    let relayed = Relayed::start(&running).await;
    a_frozen_tab_delays_nobody(&running, &relayed).await;
}

#[tokio::test]
async fn a_frozen_tab_among_healthy_ones_delays_nobody_on_rabbitmq() {
    let running = TestHub::start().await;
    let rabbit = RabbitRelay::start(&running).await;
    let outcome = AssertUnwindSafe(a_frozen_tab_delays_nobody(&running, &rabbit.relayed))
        .catch_unwind()
        .await;
    rabbit.clean_up(outcome).await;
}

/// Five pushes wait for a frozen tab of alice's while her healthy tab and bob get theirs at
/// once.
async fn a_frozen_tab_delays_nobody(running: &TestHub, relayed: &Relayed) {
    let _frozen = frozen_tab(running, "alice").await;
    let mut alice =
        SignalrClient::node(&running.hub_url(), &running.token("alice"), "result").await;
    let mut bob = SignalrClient::node(&running.hub_url(), &running.token("bob"), "result").await;
    alice.expect_event("connected").await;
    bob.expect_event("connected").await;
    assert_eq!(running.hub.connections_of(&user_id("alice")), 2);

    // Five pushes for alice: each waits for her frozen tab's acknowledgement (5 s).
    let first_published = Instant::now();
    let mut for_alice = Vec::new();
    for n in 0..5 {
        for_alice.push(relayed.publish("alice", &format!("frozen-{n}")).await);
    }
    let published = Instant::now();
    let for_bob = relayed.publish("bob", "healthy").await;
    expect_prompt_push(
        &mut bob,
        &for_bob,
        published,
        "bob's push (behind a frozen tab)",
    )
    .await;
    for (n, update) in for_alice.iter().enumerate() {
        let what = format!("push {n} to alice's healthy tab");
        expect_prompt_push(&mut alice, update, first_published, &what).await;
    }
    assert!(
        first_published.elapsed() < HubConfig::DEFAULT_ACK_TIMEOUT,
        "all of this happened while the frozen tab's pushes were still pending"
    );
    alice.stop().await;
    bob.stop().await;
}

#[tokio::test]
async fn signalrcore_gets_its_pushes_at_once_and_delays_nobody() {
    let running = TestHub::start().await;
    let relayed = Relayed::start(&running).await;
    let mut alice = SignalrClient::signalrcore(&running.hub_url(), &running.token("alice")).await;
    let mut bob = SignalrClient::node(&running.hub_url(), &running.token("bob"), "result").await;
    alice.expect_event("connected").await;
    bob.expect_event("connected").await;

    // signalrcore answers no client-result invocation: each of these waits the full
    // acknowledgement timeout, or goes out without an id once the hub has noticed.
    for n in 0..4 {
        let published = Instant::now();
        let update = relayed.publish("alice", &format!("no-results-{n}")).await;
        let what = format!("push {n} to signalrcore");
        expect_prompt_push(&mut alice, &update, published, &what).await;
    }
    let published = Instant::now();
    let for_bob = relayed.publish("bob", "after-signalrcore").await;
    expect_prompt_push(
        &mut bob,
        &for_bob,
        published,
        "bob's push (after signalrcore's)",
    )
    .await;
    alice.stop().await;
    bob.stop().await;
}

#[tokio::test]
async fn pushes_to_signalrcore_stop_being_awaited_and_are_reported_unacknowledged() {
    let running = TestHub::start().await;
    let mut alice = SignalrClient::signalrcore(&running.hub_url(), &running.token("alice")).await;
    alice.expect_event("connected").await;
    let short = Duration::from_millis(300);
    let alice_id = [user_id("alice")];
    for n in 0..2 {
        let update = json!({"type": "order-confirmed", "orderId": format!("c-{n}"), "messageId": format!("m-{n}")});
        let report = running.hub.push(&alice_id, update.clone(), short).await;
        assert_eq!(report.timed_out.len(), 1, "{report:?}");
        expect_push(&mut alice, &update).await;
    }
    let update = json!({"type": "order-confirmed", "orderId": "c-2", "messageId": "m-2"});
    let started = Instant::now();
    let report = running.hub.push(&alice_id, update.clone(), short).await;
    assert!(
        started.elapsed() < short,
        "not awaited: {:?}",
        started.elapsed()
    );
    assert_eq!(report.unacknowledged.len(), 1, "{report:?}");
    assert!(!report.every_connection_acknowledged());
    expect_push(&mut alice, &update).await;
    alice.stop().await;
}

#[tokio::test]
async fn a_connection_over_its_outgoing_bytes_is_closed_with_an_error() {
    let running = TestHub::start_with(HubConfig {
        outbound_queue_bytes: 4096,
        ..HubConfig::default()
    })
    .await;
    let mut lagging = running.client("alice").await;
    let mut bob = running.client("bob").await;
    let big = "x".repeat(1000);
    // Queued in one go, before the connection's task can write any of them: three frames
    // of about 1 KiB fit, the fourth takes the buffer over 4 KiB.
    let pending: Vec<_> = (0..5)
        .map(|n| {
            running.hub.start_push(
                &[user_id("alice")],
                json!({"type": "order-confirmed", "orderId": format!("big-{n}"), "padding": big}),
                Duration::from_secs(30),
            )
        })
        .collect();
    let for_bob = running.hub.start_push(
        &[user_id("bob")],
        json!({"type": "order-confirmed", "orderId": "small"}),
        Duration::from_secs(30),
    );
    let close = lagging.expect_close_message_after_pushes().await;
    assert!(
        close["error"]
            .as_str()
            .unwrap_or_default()
            .contains("keep up"),
        "{close}"
    );
    let invocation = bob.next_message().await;
    assert_eq!(invocation["arguments"][0]["orderId"], "small");
    bob.complete(&invocation["invocationId"], json!("ok")).await;
    assert!(for_bob.finish().await.every_connection_acknowledged());
    for push in pending {
        let report = tokio::time::timeout(PATIENCE, push.finish()).await.unwrap();
        assert!(report.delivered.is_empty(), "{report:?}");
    }
}
