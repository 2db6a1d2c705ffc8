//! Issue 13 end to end, with the official SignalR client: a buyer who is offline when their
//! order is created and confirmed gets both pushes when they next connect — in `orderflow
//! up` (the SQLite inbox in the data dir), and across processes (PostgreSQL and RabbitMQ)
//! on another `push-hub` instance than the one they used before, which has crashed since;
//! what they acknowledged does not come again.

use std::time::Duration;

use orderflow_testkit::signalr::SignalrClient;

use crate::support::{ServerMode, confirm_order, orderflow_up, password_token, place_order};

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

#[tokio::test]
async fn an_offline_buyer_gets_the_missed_pushes_when_they_connect_in_orderflow_up() {
    let data_dir = tempfile::tempdir().unwrap();
    let up = orderflow_up(data_dir.path()).await;
    let alice = password_token(&up.url(""), "alice").await;
    let admin = password_token(&up.url(""), "admin").await;
    let (order, _) = place_order(&up.url(""), &alice).await;
    let order_id = order["id"].as_str().unwrap().to_owned();
    confirm_order(&up.url(""), &admin, &order_id).await;
    tokio::time::sleep(SETTLE).await;

    let hub_url = up.url("/hubs/push-updates");
    let mut tab = SignalrClient::node(&hub_url, &alice, "result").await;
    tab.expect_event("connected").await;
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
    let mut again = SignalrClient::node(&hub_url, &alice, "result").await;
    again.expect_event("connected").await;
    again.expect_no_event("push", SETTLE).await;
    again.stop().await;
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

    let mut tab = SignalrClient::node(&first_hub.url("/hubs/push-updates"), &alice, "result").await;
    tab.expect_event("connected").await;
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
    let mut elsewhere =
        SignalrClient::node(&second_hub.url("/hubs/push-updates"), &alice, "result").await;
    elsewhere.expect_event("connected").await;
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
