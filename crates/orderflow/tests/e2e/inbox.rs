//! Issue 13 end to end, with the official SignalR client: a buyer who is offline when their
//! order is created and confirmed gets both pushes when they next connect — in `orderflow
//! up` (the SQLite inbox in the data dir), and across processes (PostgreSQL and RabbitMQ)
//! on another `push-hub` instance than the one they used before, which has crashed since;
//! what they acknowledged does not come again; past `ORDERFLOW_INBOX_MAX_PER_USER` the
//! oldest missed push is dropped and counted in `/metrics`; with the inbox off
//! (`ORDERFLOW_INBOX_MAX_PER_USER=0`) nothing is kept for later.

use std::time::Duration;

use orderflow_testkit::signalr::SignalrClient;

use crate::support::{
    Process, ServerMode, confirm_order, orderflow_up, password_token, place_order,
};

/// Long enough for a push to travel from the event store to every hub instance.
const SETTLE: Duration = Duration::from_secs(2);

/// The next push of `client`: its type and order id.
async fn next_push(client: &mut SignalrClient) -> (String, String) {
    let push = client.expect_event("push").await;
    let update = &push["update"];
    (
        update["type"].as_str().unwrap_or_default().to_owned(),
        update["orderId"].as_str().unwrap_or_default().to_owned(),
    )
}

/// Alice's order, placed and confirmed on `base` while she is offline: her token and its id.
async fn missed_order(base: &str) -> (String, String) {
    let alice = password_token(base, "alice").await;
    let admin = password_token(base, "admin").await;
    let (order, _) = place_order(base, &alice).await;
    let order_id = order["id"].as_str().unwrap().to_owned();
    confirm_order(base, &admin, &order_id).await;
    tokio::time::sleep(SETTLE).await;
    (alice, order_id)
}

/// The official client of `token`, connected to `hub_url`.
async fn connect(hub_url: &str, token: &str) -> SignalrClient {
    let mut client = SignalrClient::node(hub_url, token, "result").await;
    client.expect_event("connected").await;
    client
}

#[tokio::test]
async fn an_offline_buyer_gets_the_missed_pushes_when_they_connect_in_orderflow_up() {
    let data_dir = tempfile::tempdir().unwrap();
    let up = orderflow_up(data_dir.path()).await;
    let (alice, order_id) = missed_order(&up.url("")).await;

    let hub_url = up.url("/hubs/push-updates");
    let mut tab = connect(&hub_url, &alice).await;
    assert_eq!(
        next_push(&mut tab).await,
        ("order-created".into(), order_id.clone())
    );
    assert_eq!(
        next_push(&mut tab).await,
        ("order-confirmed".into(), order_id.clone())
    );
    tab.stop().await;
    // Acknowledged: the next connection gets nothing again.
    let mut again = connect(&hub_url, &alice).await;
    again.expect_no_event("push", SETTLE).await;
    again.stop().await;

    // Both pushes were replayed; nothing was past a bound, and /metrics says so.
    let metrics = crate::metrics::scrape(&up.url("")).await;
    let sample = |name, labels: &[(&str, &str)]| crate::metrics::sample(&metrics, name, labels);
    assert_eq!(
        sample("orderflow_inbox_replayed_total", &[]),
        Some(2.0),
        "{metrics}"
    );
    for reason in ["count", "age"] {
        assert_eq!(
            sample("orderflow_inbox_dropped_total", &[("reason", reason)]),
            Some(0.0),
            "{metrics}"
        );
    }
}

#[tokio::test]
async fn past_the_configured_count_the_oldest_missed_push_is_dropped_and_counted() {
    let data_dir = tempfile::tempdir().unwrap();
    let data_dir = data_dir.path().to_str().unwrap();
    let up = Process::start(
        &["up", "--listen", "127.0.0.1:0", "--data-dir", data_dir],
        &[("ORDERFLOW_INBOX_MAX_PER_USER", "1")],
    )
    .await;
    let (alice, order_id) = missed_order(&up.url("")).await;

    let mut tab = connect(&up.url("/hubs/push-updates"), &alice).await;
    assert_eq!(
        next_push(&mut tab).await,
        ("order-confirmed".into(), order_id.clone()),
        "only the newest push is kept"
    );
    tab.expect_no_event("push", SETTLE).await;
    tab.stop().await;
    let metrics = crate::metrics::scrape(&up.url("")).await;
    assert_eq!(
        crate::metrics::sample(
            &metrics,
            "orderflow_inbox_dropped_total",
            &[("reason", "count")]
        ),
        Some(1.0),
        "{metrics}"
    );
}

#[tokio::test]
async fn with_the_inbox_off_a_push_reaches_only_the_users_connected_when_it_comes() {
    let data_dir = tempfile::tempdir().unwrap();
    let data_dir = data_dir.path().to_str().unwrap();
    let up = Process::start(
        &["up", "--listen", "127.0.0.1:0", "--data-dir", data_dir],
        &[("ORDERFLOW_INBOX_MAX_PER_USER", "0")],
    )
    .await;
    let (alice, _) = missed_order(&up.url("")).await;
    let mut tab = connect(&up.url("/hubs/push-updates"), &alice).await;
    tab.expect_no_event("push", SETTLE).await;
    // Connected now: the next one arrives live.
    let admin = password_token(&up.url(""), "admin").await;
    let (order, _) = place_order(&up.url(""), &alice).await;
    let order_id = order["id"].as_str().unwrap().to_owned();
    assert_eq!(
        next_push(&mut tab).await,
        ("order-created".into(), order_id.clone())
    );
    confirm_order(&up.url(""), &admin, &order_id).await;
    assert_eq!(
        next_push(&mut tab).await,
        ("order-confirmed".into(), order_id)
    );
    tab.stop().await;
    let metrics = crate::metrics::scrape(&up.url("")).await;
    assert_eq!(
        crate::metrics::sample(&metrics, "orderflow_inbox_pending", &[]),
        None,
        "no inbox, no depth: {metrics}"
    );
}

#[tokio::test]
async fn a_buyer_gets_what_they_missed_on_another_push_hub_after_theirs_crashed() {
    let deployment = ServerMode::new().await;
    let first_hub = deployment.start("push-hub", "127.0.0.1:0").await;
    let second_hub = deployment.start("push-hub", "127.0.0.1:0").await;
    let orders = deployment.start("orders", "127.0.0.1:0").await;
    let gateway = deployment.start("gateway", "127.0.0.1:0").await;
    let alice = password_token(&deployment.idp.url(""), "alice").await;
    let admin = password_token(&deployment.idp.url(""), "admin").await;

    let mut tab = connect(&first_hub.url("/hubs/push-updates"), &alice).await;
    let (order, _) = place_order(&orders.url(""), &alice).await;
    let order_id = order["id"].as_str().unwrap().to_owned();
    assert_eq!(
        next_push(&mut tab).await,
        ("order-created".into(), order_id.clone())
    );
    tokio::time::sleep(SETTLE).await;
    tab.stop().await;
    // The instance alice used dies (killed, no shutdown) while she is offline.
    drop(first_hub);

    confirm_order(&orders.url(""), &admin, &order_id).await;
    tokio::time::sleep(SETTLE).await;
    let mut elsewhere = connect(&second_hub.url("/hubs/push-updates"), &alice).await;
    assert_eq!(
        next_push(&mut elsewhere).await,
        ("order-confirmed".into(), order_id.clone()),
        "only the missed push: order-created was acknowledged on the first instance"
    );
    elsewhere.expect_no_event("push", SETTLE).await;
    elsewhere.stop().await;

    drop((gateway, orders, second_hub));
    deployment.finish().await;
}
