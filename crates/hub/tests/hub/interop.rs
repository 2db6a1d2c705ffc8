//! Interop with clients nobody here wrote: the official `@microsoft/signalr` npm package
//! (negotiate version 1, connection token) and `pysignalr` from PyPI (negotiate version 0,
//! connection id, the token in the `Authorization` header), pinned and driven by
//! `orderflow_testkit::signalr`.
//!
//! Node with npm, and Python 3 with venv, must be installed: these tests fail (never skip)
//! without them. The first test that needs a client installs it when it is missing.

use std::time::Duration;

use orderflow_testkit::signalr::SignalrClient;
use serde_json::Value;

use crate::support::{TestHub, order_confirmed, user_id};

/// Pushes to alice and asserts her one connection acknowledged; returns the client's result.
async fn push_to_alice(
    running: &TestHub,
    node: &mut SignalrClient,
    order_id: &str,
) -> Option<Value> {
    let update = order_confirmed(order_id);
    let hub = running.hub.clone();
    let pushed = update.clone();
    let push = tokio::spawn(async move {
        hub.push(&[user_id("alice")], pushed, Duration::from_secs(5))
            .await
    });
    let received = node.expect_event("push").await;
    assert_eq!(received["update"], update, "{}", node.diagnostics());
    let report = push.await.unwrap();
    assert_eq!(
        report.delivered.len(),
        1,
        "the hub saw the client's completion: {report:?}\n{}",
        node.diagnostics()
    );
    assert!(report.every_connection_acknowledged(), "{report:?}");
    report.delivered[0].result.clone()
}

/// One of the two clients nobody here wrote.
#[derive(Debug, Clone, Copy)]
enum Client {
    /// The official `@microsoft/signalr` client (negotiate version 1).
    Node,
    /// `pysignalr` (negotiate version 0, the token in a header).
    Python,
}

impl Client {
    async fn spawn(self, hub_url: &str, token: &str, mode: &str) -> SignalrClient {
        match self {
            Client::Node => SignalrClient::node(hub_url, token, mode).await,
            Client::Python => SignalrClient::python(hub_url, token, mode).await,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Client::Node => "node",
            Client::Python => "python",
        }
    }
}

/// `client` connects as alice, receives a push, and its result reaches the hub.
async fn receives_a_push_and_its_result_reaches_the_hub(client: Client) {
    let running = TestHub::start().await;
    let mut connection = client
        .spawn(&running.hub_url(), &running.token("alice"), "result")
        .await;
    connection.expect_event("connected").await;
    let order = format!("interop-{}", client.name());
    let result = push_to_alice(&running, &mut connection, &order).await;
    assert_eq!(
        result,
        Some(serde_json::json!({"received": format!("msg-{order}"), "by": client.name()}))
    );
    connection.stop().await;
}

/// A handler of `client` that returns nothing still acknowledges.
async fn acknowledges_without_a_result(client: Client) {
    let running = TestHub::start().await;
    let mut connection = client
        .spawn(&running.hub_url(), &running.token("alice"), "no-result")
        .await;
    connection.expect_event("connected").await;
    let result = push_to_alice(&running, &mut connection, "interop-no-result").await;
    assert_eq!(result, None);
    connection.stop().await;
}

/// `client` without a token fails to start with 401, and nothing connects.
async fn is_refused_without_a_token(client: Client) {
    let running = TestHub::start().await;
    let mut connection = client.spawn(&running.hub_url(), "", "result").await;
    let failed = connection.expect_event("start-failed").await;
    let message = failed["message"].as_str().unwrap_or_default().to_owned();
    assert!(
        message.contains("401"),
        "the start fails with 401: {message}\n{}",
        connection.diagnostics()
    );
    assert_eq!(connection.exit_code().await, Some(2));
    assert_eq!(running.hub.connection_count(), 0);
}

#[tokio::test]
async fn the_official_client_receives_a_push_and_its_result_reaches_the_hub() {
    receives_a_push_and_its_result_reaches_the_hub(Client::Node).await;
}

#[tokio::test]
async fn pysignalr_negotiates_version_zero_receives_a_push_and_its_result_reaches_the_hub() {
    receives_a_push_and_its_result_reaches_the_hub(Client::Python).await;
}

#[tokio::test]
async fn a_handler_of_the_official_client_that_returns_nothing_still_acknowledges() {
    acknowledges_without_a_result(Client::Node).await;
}

#[tokio::test]
async fn a_pysignalr_handler_that_returns_nothing_still_acknowledges() {
    acknowledges_without_a_result(Client::Python).await;
}

#[tokio::test]
async fn the_official_client_is_refused_without_a_token() {
    is_refused_without_a_token(Client::Node).await;
}

#[tokio::test]
async fn pysignalr_is_refused_without_a_token() {
    is_refused_without_a_token(Client::Python).await;
}

#[tokio::test]
async fn the_official_client_may_skip_negotiation_and_connect_the_websocket_directly() {
    let running = TestHub::start().await;
    let mut node = SignalrClient::node(
        &running.hub_url(),
        &running.token("alice"),
        "skip-negotiation",
    )
    .await;
    node.expect_event("connected").await;
    let result = push_to_alice(&running, &mut node, "interop-3").await;
    assert_eq!(result.unwrap()["received"], "msg-interop-3");
    node.stop().await;
}

#[tokio::test]
async fn the_official_client_reconnects_after_the_hub_restarts_and_gets_later_pushes() {
    let mut running = TestHub::start().await;
    let mut node = SignalrClient::node(&running.hub_url(), &running.token("alice"), "result").await;
    node.expect_event("connected").await;
    push_to_alice(&running, &mut node, "before-restart").await;

    running.restart().await;
    node.expect_event("reconnecting").await;
    node.expect_event("reconnected").await;
    assert_eq!(running.hub.connections_of(&user_id("alice")), 1);
    let result = push_to_alice(&running, &mut node, "after-restart").await;
    assert_eq!(result.unwrap()["received"], "msg-after-restart");
    node.stop().await;
}

#[tokio::test]
async fn the_official_client_and_pysignalr_tabs_of_one_user_both_get_a_push() {
    let running = TestHub::start().await;
    let token = running.token("alice");
    let mut node = SignalrClient::node(&running.hub_url(), &token, "result").await;
    let mut python = SignalrClient::python(&running.hub_url(), &token, "result").await;
    node.expect_event("connected").await;
    python.expect_event("connected").await;
    assert_eq!(running.hub.connections_of(&user_id("alice")), 2);

    let update = order_confirmed("two-tabs");
    let report = running
        .hub
        .push(&[user_id("alice")], update.clone(), Duration::from_secs(5))
        .await;
    assert_eq!(node.expect_event("push").await["update"], update);
    assert_eq!(python.expect_event("push").await["update"], update);
    assert_eq!(report.delivered.len(), 2, "{report:?}");
    assert!(report.every_connection_acknowledged(), "{report:?}");
    let clients: std::collections::BTreeSet<String> = report
        .delivered
        .iter()
        .map(|delivery| delivery.result.clone().unwrap()["by"].to_string())
        .collect();
    assert_eq!(clients.len(), 2, "one result from each client: {report:?}");
    node.stop().await;
    python.stop().await;
}
