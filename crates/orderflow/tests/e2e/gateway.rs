//! Seed 002 end to end, through the gateway (BFF), with the official SignalR
//! client: alice creates an order at `POST /api/orders` and gets 201 with the
//! `CreateOrderResponse` and its `Location`; her connection gets the
//! `order-created` push; the gateway's read model lists the order for her (and
//! the admin) but never for bob; `Prefer: respond-async` answers 202 and the
//! order appears at its `Location`; the same command sent twice (one
//! `Idempotency-Key`) creates one order. Once in `orderflow up`, once across
//! separate processes on PostgreSQL and RabbitMQ, where the order service is
//! also stopped: the gateway answers 504 within its bound, and the order is
//! created once the order service is back. Every answer is held to the
//! OpenAPI document (`orderflow_testkit::openapi`).

use std::time::Duration;

use orderflow_testkit::openapi::{Received, assert_conforms};
use orderflow_testkit::signalr::SignalrClient;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{InProcessUp, ServerMode, http, item_ids, password_token};

fn order_body() -> Value {
    json!({"currency":"EUR","items":[{"sku":"SKU-1","name":"Coffee beans","quantity":2,"unitPrice":"12.50"}]})
}

/// A gateway's answer, read whole and held to the OpenAPI document.
struct Answer {
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

impl Answer {
    fn location(&self) -> String {
        self.headers
            .get("location")
            .and_then(|value| value.to_str().ok())
            .expect("a Location header")
            .to_owned()
    }
}

fn document() -> &'static Value {
    static DOCUMENT: std::sync::OnceLock<Value> = std::sync::OnceLock::new();
    DOCUMENT.get_or_init(|| serde_json::from_str(orderflow_http::OPENAPI_JSON).unwrap())
}

/// Sends `request` and checks the answer against the OpenAPI document.
async fn send(request: reqwest::RequestBuilder) -> Answer {
    let request = request.build().unwrap();
    let method = request.method().as_str().to_owned();
    let path = request.url().path().to_owned();
    let response = http().execute(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.unwrap();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    let content_type = headers.get("content-type").and_then(|v| v.to_str().ok());
    let received = Received {
        status: status.as_u16(),
        content_type,
        body: &body,
    };
    assert_conforms(document(), &method, &path, received);
    Answer {
        status,
        headers,
        body,
    }
}

/// `POST /api/orders` as `token`, with extra headers.
async fn post_order(gateway: &str, token: &str, headers: &[(&str, &str)]) -> Answer {
    let mut request = http()
        .post(format!("{gateway}/api/orders"))
        .bearer_auth(token)
        .json(&order_body());
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    send(request).await
}

async fn get(url: &str, token: &str) -> Answer {
    send(http().get(url).bearer_auth(token)).await
}

/// Polls `url` until it answers 200 (the read model caught up), at most `within`.
async fn eventually_found(url: &str, token: &str, within: Duration) -> Value {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let response = get(url, token).await;
        match response.status {
            StatusCode::OK => return response.body,
            StatusCode::NOT_FOUND if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            status => panic!("{url} answered {status} (expected 200 within {within:?})"),
        }
    }
}

async fn listed_ids(gateway: &str, token: &str) -> Vec<String> {
    let response = get(&format!("{gateway}/api/orders?limit=200"), token).await;
    assert_eq!(response.status, 200);
    item_ids(&response.body)
}

async fn seed_002(identity_base: &str, gateway: &str, hub_url: &str) {
    let alice = password_token(identity_base, "alice").await;
    let bob = password_token(identity_base, "bob").await;
    let admin = password_token(identity_base, "admin").await;
    let mut alices_tab = SignalrClient::node(hub_url, &alice, "result").await;
    alices_tab.expect_event("connected").await;

    // 201 with the response and its Location.
    let response = post_order(gateway, &alice, &[]).await;
    assert_eq!(response.status, StatusCode::CREATED);
    let at = response.location();
    let created = response.body;
    let order_id = created["orderId"].as_str().unwrap().to_owned();
    assert_eq!(at, format!("/api/orders/{order_id}"));
    assert_eq!(created["status"], "pending");
    assert_eq!(created["currency"], "EUR");
    assert_eq!(created["total"], "25.00");
    assert!(created["createdAt"].is_string(), "{created}");

    // The order-created push reaches the buyer.
    let push = alices_tab.expect_event("push").await;
    assert_eq!(
        push["update"]["type"],
        "order-created",
        "{}",
        alices_tab.diagnostics()
    );
    assert_eq!(push["update"]["orderId"], order_id.as_str());

    // The read model: the buyer and the admin see it, bob does not.
    let shown = eventually_found(&format!("{gateway}{at}"), &alice, Duration::from_secs(10)).await;
    assert_eq!(shown["id"], order_id.as_str());
    assert_eq!(shown["status"], "pending");
    assert_eq!(shown["total"], "25.00");
    assert_eq!(shown["items"][0]["lineTotal"], "25.00");
    assert_eq!(get(&format!("{gateway}{at}"), &bob).await.status, 404);
    assert_eq!(get(&format!("{gateway}{at}"), &admin).await.status, 200);
    assert!(listed_ids(gateway, &alice).await.contains(&order_id));
    assert!(listed_ids(gateway, &admin).await.contains(&order_id));
    assert!(!listed_ids(gateway, &bob).await.contains(&order_id));

    // Prefer: respond-async → 202, and the order appears at its Location.
    let response = post_order(gateway, &alice, &[("prefer", "respond-async")]).await;
    assert_eq!(response.status, StatusCode::ACCEPTED);
    assert_eq!(response.headers["preference-applied"], "respond-async");
    let later = response.location();
    let shown = eventually_found(
        &format!("{gateway}{later}"),
        &alice,
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(shown["status"], "pending");
    let push = alices_tab.expect_event("push").await;
    assert_eq!(
        format!(
            "/api/orders/{}",
            push["update"]["orderId"].as_str().unwrap()
        ),
        later
    );

    // The same command twice creates one order.
    let key = [("idempotency-key", "seed-002-retry")];
    let first = post_order(gateway, &alice, &key).await.body;
    let second = post_order(gateway, &alice, &key).await;
    assert_eq!(second.status, StatusCode::CREATED);
    let second = second.body;
    assert_eq!(first["orderId"], second["orderId"]);
    let push = alices_tab.expect_event("push").await;
    assert_eq!(push["update"]["orderId"], first["orderId"]);
    alices_tab
        .expect_no_event("push", Duration::from_millis(500))
        .await;

    // Bad input never reaches the bus.
    let response = send(
        http()
            .post(format!("{gateway}/api/orders"))
            .bearer_auth(&alice)
            .json(&json!({"currency":"EUR","items":[]})),
    )
    .await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(response.headers["content-type"], "application/problem+json");
    assert_eq!(
        post_order(gateway, &admin, &[]).await.status,
        StatusCode::FORBIDDEN
    );

    alices_tab.stop().await;
}

/// How many events the order service stored for an order (its `version`).
async fn order_version(orders_base: &str, token: &str, order_id: &str) -> u64 {
    let order = get(&format!("{orders_base}/orders/{order_id}"), token)
        .await
        .body;
    order["version"].as_u64().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_002_in_orderflow_up() {
    let data_dir = tempfile::tempdir().unwrap();
    let up = InProcessUp::start(data_dir.path()).await;
    seed_002(&up.url(""), &up.url(""), &up.url("/hubs/push-updates")).await;

    // One order for one command sent twice: created + subscription added.
    let alice = password_token(&up.url(""), "alice").await;
    let key = [("idempotency-key", "twice")];
    let first = post_order(&up.url(""), &alice, &key).await.body;
    let second = post_order(&up.url(""), &alice, &key).await.body;
    assert_eq!(first, second);
    let order_id = first["orderId"].as_str().unwrap();
    assert_eq!(order_version(&up.url(""), &alice, order_id).await, 2);
}

#[tokio::test]
async fn seed_002_across_processes_on_postgresql_and_rabbitmq() {
    let deployment = ServerMode::new().await;
    let hub = deployment.start("push-hub", "127.0.0.1:0").await;
    let orders = deployment.start("orders", "127.0.0.1:0").await;
    let gateway = deployment.start("gateway", "127.0.0.1:0").await;
    let gateway_base = gateway.url("");
    let ready = get(&gateway.url("/health/ready"), "").await;
    assert_eq!(ready.status, 200);
    // The gateway alone serves the same document it is held to.
    let served = get(&gateway.url("/openapi.json"), "").await;
    assert_eq!(&served.body, document());

    let idp = deployment.idp.url("");
    seed_002(&idp, &gateway_base, &hub.url("/hubs/push-updates")).await;

    // The order service is down: 504 within the bound, with the Location the
    // order will have; once the service is back, the queued command runs.
    let orders_address = orders.address.clone();
    drop(orders);
    let alice = password_token(&idp, "alice").await;
    let started = tokio::time::Instant::now();
    let response = post_order(&gateway_base, &alice, &[]).await;
    let waited = started.elapsed();
    assert_eq!(response.status, StatusCode::GATEWAY_TIMEOUT);
    assert!(waited < Duration::from_secs(5), "answered after {waited:?}");
    assert_eq!(response.headers["content-type"], "application/problem+json");
    let pending_at = response.location();
    assert_eq!(
        get(&format!("{gateway_base}{pending_at}"), &alice)
            .await
            .status,
        404
    );
    let orders = deployment.start("orders", &orders_address).await;
    let shown = eventually_found(
        &format!("{gateway_base}{pending_at}"),
        &alice,
        Duration::from_secs(20),
    )
    .await;
    assert_eq!(shown["status"], "pending");
    let order_id = shown["id"].as_str().unwrap();
    assert_eq!(order_version(&orders.url(""), &alice, order_id).await, 2);

    drop((gateway, orders, hub));
    deployment.finish().await;
}
