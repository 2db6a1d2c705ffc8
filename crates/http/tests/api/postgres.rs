//! The same API on PostgreSQL (a fresh database per test, dropped afterwards). These tests
//! fail when PostgreSQL is unreachable; they never skip.

use crate::support::{TestApp, coffee_order};

#[tokio::test]
async fn on_postgres_an_order_is_created_read_and_confirmed() {
    let app = TestApp::spawn_on_postgres().await;
    let alice = app.token("alice").await;
    let admin = app.token("admin").await;

    let created = app.post_json("/orders", &alice, &coffee_order()).await;
    assert_eq!(created.status, 201, "{created:?}");
    assert_eq!(created.body["total"], "25.00");
    let id = created.order_id();

    let read = app.get(&format!("/orders/{id}"), &alice).await;
    assert_eq!(read.status, 200, "{read:?}");
    assert_eq!(read.body["status"], "pending");

    let confirmed = app
        .post_empty(&format!("/orders/{id}/confirm"), &admin)
        .await;
    assert_eq!(confirmed.status, 200, "{confirmed:?}");
    assert_eq!(confirmed.body["status"], "confirmed");
    let position: u64 = confirmed
        .header("orderflow-position")
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(position, 3);

    let again = app
        .post_empty(&format!("/orders/{id}/confirm"), &admin)
        .await;
    again.assert_problem(409);
}

#[tokio::test]
async fn on_postgres_readiness_follows_the_database() {
    let app = TestApp::spawn_on_postgres().await;
    let ready = app.send(app.http.get(app.url("/health/ready"))).await;
    assert_eq!(ready.status, 200, "{ready:?}");
}
