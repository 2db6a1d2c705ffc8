//! `Idempotency-Key` on `POST /orders`: a retry returns the first answer; reusing a key for
//! another order is refused.

use serde_json::Value;

use crate::support::{Answer, TestApp, coffee_order};

async fn place_with_key(app: &TestApp, token: &str, key: &str, body: &Value) -> Answer {
    app.send(
        app.http
            .post(app.url("/orders"))
            .bearer_auth(token)
            .header("idempotency-key", key)
            .json(body),
    )
    .await
}

#[tokio::test]
async fn the_same_key_and_body_twice_create_one_order() {
    let app = TestApp::spawn().await;
    let alice = app.token("alice").await;
    let first = place_with_key(&app, &alice, "checkout-42", &coffee_order()).await;
    let retry = place_with_key(&app, &alice, "checkout-42", &coffee_order()).await;

    assert_eq!(first.status, 201, "{first:?}");
    assert_eq!(retry.status, 201, "{retry:?}");
    assert_eq!(first.order_id(), retry.order_id());
    assert_eq!(first.header("location"), retry.header("location"));
    assert_eq!(first.body["total"], retry.body["total"]);
    assert_eq!(
        first.header("orderflow-position"),
        retry.header("orderflow-position")
    );
    assert_eq!(app.stream_length(&first.order_id()).await, 2);
    let head = app.store.head().await.unwrap().value();
    assert_eq!(head, 2, "no other event anywhere");
}

#[tokio::test]
async fn the_same_key_with_another_body_is_unprocessable() {
    let app = TestApp::spawn().await;
    let alice = app.token("alice").await;
    let first = place_with_key(&app, &alice, "checkout-43", &coffee_order()).await;
    assert_eq!(first.status, 201);

    let mut other = coffee_order();
    other["items"][0]["quantity"] = 3.into();
    let answer = place_with_key(&app, &alice, "checkout-43", &other).await;
    assert_eq!(answer.assert_problem(422)["code"], "idempotency_key_reused");
    assert_eq!(app.stream_length(&first.order_id()).await, 2);
}

#[tokio::test]
async fn the_same_key_from_two_buyers_makes_two_orders() {
    let app = TestApp::spawn().await;
    let alice = app.token("alice").await;
    let bob = app.token("bob").await;
    let for_alice = place_with_key(&app, &alice, "k-1", &coffee_order()).await;
    let for_bob = place_with_key(&app, &bob, "k-1", &coffee_order()).await;
    assert_eq!(for_alice.status, 201);
    assert_eq!(for_bob.status, 201);
    assert_ne!(for_alice.order_id(), for_bob.order_id());
}
