//! Seed 000 end to end, with the official SignalR client: alice connects from
//! two tabs and bob from one, alice places an order, the admin finds it among
//! pending orders (bob does not see it) and confirms it; both of alice's tabs
//! get `order-created` and then `order-confirmed`, bob gets nothing, and the
//! order is no longer pending. Once in `orderflow up` (SQLite, in-process bus), once across
//! separate processes — `orderflow idp` + `orderflow orders` + `orderflow
//! push-hub` + `orderflow gateway` (whose notification consumer announces new
//! orders) — on PostgreSQL and RabbitMQ.

use std::time::Duration;

use orderflow_testkit::signalr::SignalrClient;

use crate::support::{
    InProcessUp, ServerMode, confirm_order, password_token, place_order, search_ids,
};

/// Reads the next push of `client` and checks its type and order.
async fn expect_push(client: &mut SignalrClient, kind: &str, order_id: &str) {
    let push = client.expect_event("push").await;
    let update = &push["update"];
    assert_eq!(update["type"], kind, "{}", client.diagnostics());
    assert_eq!(update["orderId"], order_id, "{}", client.diagnostics());
    assert!(update["messageId"].is_string(), "{}", client.diagnostics());
}

async fn seed_000(identity_base: &str, orders_base: &str, hub_url: &str) {
    let alice = password_token(identity_base, "alice").await;
    let bob = password_token(identity_base, "bob").await;
    let admin = password_token(identity_base, "admin").await;
    let mut first_tab = SignalrClient::node(hub_url, &alice, "result").await;
    let mut second_tab = SignalrClient::node(hub_url, &alice, "no-result").await;
    let mut bobs_tab = SignalrClient::node(hub_url, &bob, "result").await;
    for client in [&mut first_tab, &mut second_tab, &mut bobs_tab] {
        client.expect_event("connected").await;
    }

    let (order, created_at) = place_order(orders_base, &alice).await;
    let order_id = order["id"].as_str().unwrap();
    for tab in [&mut first_tab, &mut second_tab] {
        expect_push(tab, "order-created", order_id).await;
    }
    let pending = search_ids(orders_base, &admin, "status=pending", created_at).await;
    assert!(
        pending.iter().any(|id| id == order_id),
        "the admin finds the pending order"
    );
    let bobs = search_ids(orders_base, &bob, "status=pending", created_at).await;
    assert!(
        !bobs.iter().any(|id| id == order_id),
        "bob never sees alice's order"
    );
    let by_text = search_ids(orders_base, &alice, "q=coffee", created_at).await;
    assert!(
        by_text.iter().any(|id| id == order_id),
        "alice finds it by item name"
    );

    let confirmed_at = confirm_order(orders_base, &admin, order_id).await;
    let pending = search_ids(orders_base, &admin, "status=pending", confirmed_at).await;
    assert!(
        !pending.iter().any(|id| id == order_id),
        "a confirmed order is no longer pending"
    );
    for tab in [&mut first_tab, &mut second_tab] {
        expect_push(tab, "order-confirmed", order_id).await;
    }
    bobs_tab
        .expect_no_event("push", Duration::from_secs(1))
        .await;

    for client in [first_tab, second_tab, bobs_tab] {
        client.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_000_in_orderflow_up() {
    let data_dir = tempfile::tempdir().unwrap();
    let up = InProcessUp::start(data_dir.path()).await;
    seed_000(&up.url(""), &up.url(""), &up.url("/hubs/push-updates")).await;
}

#[tokio::test]
async fn seed_000_across_processes_on_postgresql_and_rabbitmq() {
    let deployment = ServerMode::new().await;
    let hub = deployment.start("push-hub", "127.0.0.1:0").await;
    let orders = deployment.start("orders", "127.0.0.1:0").await;
    // The gateway's notification consumer announces new orders.
    let gateway = deployment.start("gateway", "127.0.0.1:0").await;

    seed_000(
        &deployment.idp.url(""),
        &orders.url(""),
        &hub.url("/hubs/push-updates"),
    )
    .await;
    // Each process reports its own part: the hub its deliveries (alice's two
    // tabs, created and confirmed), the orders service its writes.
    let hub_metrics = crate::metrics::scrape(&hub.url("")).await;
    let delivered = crate::metrics::sample(
        &hub_metrics,
        "orderflow_hub_push_deliveries_total",
        &[("outcome", "delivered")],
    );
    assert_eq!(delivered, Some(4.0), "{hub_metrics}");
    let orders_metrics = crate::metrics::scrape(&orders.url("")).await;
    let created = crate::metrics::sample(
        &orders_metrics,
        "orderflow_http_requests_total",
        &[("route", "/orders"), ("method", "POST"), ("status", "201")],
    );
    assert_eq!(created, Some(1.0), "{orders_metrics}");

    // The search projection's progress, read from the shared PostgreSQL
    // index beside the running services.
    let status = assert_cmd::Command::cargo_bin("orderflow")
        .unwrap()
        .args(["projections", "status"])
        .envs(deployment.env())
        .output()
        .unwrap();
    assert!(status.status.success(), "{status:?}");
    let table = String::from_utf8(status.stdout).unwrap();
    let search: Vec<u64> = table
        .lines()
        .find(|line| line.starts_with("search "))
        .unwrap_or_else(|| panic!("{table}"))
        .split_whitespace()
        .skip(1)
        .map(|number| number.parse().unwrap())
        .collect();
    assert!(
        search[0] >= 3,
        "the order and its confirmation are indexed:\n{table}"
    );

    drop((gateway, orders, hub));
    deployment.finish().await;
}
