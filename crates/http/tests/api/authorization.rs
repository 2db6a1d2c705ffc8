//! Who may do what: someone else's order does not exist for you; confirming is for admins.

use serde_json::json;

use crate::support::{TestApp, coffee_order};

#[tokio::test]
async fn another_buyer_reading_an_order_gets_not_found() {
    let app = TestApp::spawn().await;
    let id = app.place_order("alice").await;
    let bob = app.token("bob").await;
    let answer = app.get(&format!("/orders/{id}"), &bob).await;
    assert_eq!(answer.assert_problem(404)["code"], "not_found");
}

#[tokio::test]
async fn another_buyer_cancelling_an_order_gets_not_found_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let id = app.place_order("alice").await;
    let bob = app.token("bob").await;
    let answer = app.post_empty(&format!("/orders/{id}/cancel"), &bob).await;
    answer.assert_problem(404);
    let answer = app
        .post_json(
            &format!("/orders/{id}/subscribers"),
            &bob,
            &json!({ "subscriberId": "bob" }),
        )
        .await;
    answer.assert_problem(404);
    assert_eq!(app.stream_length(&id).await, 2);
}

#[tokio::test]
async fn a_buyer_confirming_an_order_is_forbidden() {
    let app = TestApp::spawn().await;
    let id = app.place_order("alice").await;
    let alice = app.token("alice").await;
    let answer = app
        .post_empty(&format!("/orders/{id}/confirm"), &alice)
        .await;
    assert_eq!(answer.assert_problem(403)["code"], "forbidden");
    assert_eq!(app.stream_length(&id).await, 2);
}

#[tokio::test]
async fn an_admin_reads_any_order() {
    let app = TestApp::spawn().await;
    let id = app.place_order("alice").await;
    let admin = app.token("admin").await;
    let answer = app.get(&format!("/orders/{id}"), &admin).await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.body["id"], id.as_str());
}

#[tokio::test]
async fn an_admin_without_the_buyer_role_cannot_place_orders() {
    let app = TestApp::spawn().await;
    let admin = app.token("admin").await;
    let answer = app.post_json("/orders", &admin, &coffee_order()).await;
    answer.assert_problem(403);
}

#[tokio::test]
async fn an_unknown_order_id_is_not_found_and_a_malformed_one_a_bad_request() {
    let app = TestApp::spawn().await;
    let admin = app.token("admin").await;
    for (path, status) in [
        ("/orders/0190f0c2-7c4e-7b7a-9a1e-2b8d1c3e4f50", 404),
        ("/orders/not-an-id", 400),
        ("/orders/00000000-0000-0000-0000-000000000000", 400),
        ("/orders/%FF%FE", 400),
    ] {
        app.get(path, &admin).await.assert_problem(status);
        app.post_empty(&format!("{path}/confirm"), &admin)
            .await
            .assert_problem(status);
    }
}
