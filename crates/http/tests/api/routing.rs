//! What lies outside the routes: unknown paths, wrong methods, the health probes.

use crate::support::{TestApp, coffee_order};

#[tokio::test]
async fn an_unknown_route_is_a_not_found_problem() {
    let app = TestApp::spawn().await;
    let alice = app.token("alice").await;
    for path in ["/nope", "/orders/1/2/3", "/realms/orderflow/nope"] {
        let answer = app.get(path, &alice).await;
        assert_eq!(answer.assert_problem(404)["code"], "not_found");
        assert!(answer.header("x-correlation-id").is_some());
    }
    let answer = app.send(app.http.get(app.url("/nope"))).await;
    answer.assert_problem(404);
}

#[tokio::test]
async fn deleting_an_order_is_a_method_not_allowed_problem() {
    let app = TestApp::spawn().await;
    let id = app.place_order("alice").await;
    let admin = app.token("admin").await;
    let answer = app
        .send(
            app.http
                .delete(app.url(&format!("/orders/{id}")))
                .bearer_auth(admin),
        )
        .await;
    assert_eq!(answer.assert_problem(405)["code"], "method_not_allowed");
    let allow = answer.header("allow").unwrap();
    assert!(allow.contains("GET"), "{allow}");
}

#[tokio::test]
async fn the_service_is_live_and_ready_without_a_token() {
    let app = TestApp::spawn().await;
    let live = app.send(app.http.get(app.url("/health/live"))).await;
    assert_eq!(live.status, 200);
    let ready = app.send(app.http.get(app.url("/health/ready"))).await;
    assert_eq!(ready.status, 200, "{ready:?}");
    assert_eq!(ready.body["status"], "ready");
}

#[tokio::test]
async fn the_dev_issuer_shares_the_listener_untouched() {
    let app = TestApp::spawn().await;
    let discovery = app
        .send(
            app.http
                .get(app.url("/realms/orderflow/.well-known/openid-configuration")),
        )
        .await;
    assert_eq!(discovery.status, 200);
    assert_eq!(discovery.body["issuer"], app.issuer.issuer_url());
}

#[tokio::test]
async fn with_the_database_down_the_service_is_not_ready_and_asks_to_retry() {
    let app = TestApp::spawn_with_the_database_down().await;
    let live = app.send(app.http.get(app.url("/health/live"))).await;
    assert_eq!(live.status, 200, "alive all the same");
    let ready = app.send(app.http.get(app.url("/health/ready"))).await;
    ready.assert_problem(503);
    assert!(ready.header("retry-after").is_some());

    let alice = app.token("alice").await;
    let answer = app.post_json("/orders", &alice, &coffee_order()).await;
    assert_eq!(answer.assert_problem(503)["code"], "unavailable");
    assert_eq!(answer.header("retry-after"), Some("1"));
    assert!(
        !answer.body["detail"].as_str().unwrap().contains("refused"),
        "the cause stays in the logs"
    );
    let answer = app
        .get("/orders/0190f0c2-7c4e-7b7a-9a1e-2b8d1c3e4f50", &alice)
        .await;
    answer.assert_problem(503);
}

#[tokio::test]
async fn a_path_id_that_is_not_an_order_id_is_a_bad_request_problem() {
    let app = TestApp::spawn().await;
    let alice = app.token("alice").await;
    let admin = app.token("admin").await;
    for path in [
        "/orders/not-a-uuid",
        "/orders/00000000-0000-0000-0000-000000000000",
        "/orders/%00",
    ] {
        let answer = app.get(path, &alice).await;
        assert_eq!(
            answer.assert_problem(400)["code"],
            "invalid_order_id",
            "{path}"
        );
    }
    let answer = app.post_empty("/orders/not-a-uuid/confirm", &admin).await;
    assert_eq!(answer.assert_problem(400)["code"], "invalid_order_id");
    // A well-formed id of no order is still 404.
    let answer = app
        .get("/orders/0190f0c2-7c4e-7b7a-9a1e-2b8d1c3e4f50", &alice)
        .await;
    answer.assert_problem(404);
}
