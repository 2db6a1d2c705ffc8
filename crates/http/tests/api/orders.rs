//! Every route's happy path.

use orderflow_app::ports::StreamName;
use serde_json::json;

use crate::support::{TestApp, coffee_order};

#[tokio::test]
async fn placing_an_order_answers_201_with_its_location_and_the_order() {
    let app = TestApp::spawn().await;
    let alice = app.token("alice").await;
    let answer = app.post_json("/orders", &alice, &coffee_order()).await;

    assert_eq!(answer.status, 201, "{answer:?}");
    let id = answer.order_id();
    assert_eq!(
        answer.header("location"),
        Some(format!("/orders/{id}").as_str())
    );
    assert_eq!(answer.header("etag"), Some("\"2\""));
    let position: u64 = answer
        .header("orderflow-position")
        .unwrap()
        .parse()
        .unwrap();
    assert!(position >= 2);
    assert!(answer.header("x-correlation-id").is_some());

    let order = &answer.body;
    assert_eq!(order["status"], "pending");
    assert_eq!(order["currency"], "EUR");
    assert_eq!(order["total"], "25.00");
    assert_eq!(order["version"], 2);
    assert_eq!(
        order["items"],
        json!([{
            "sku": "SKU-1", "name": "Coffee beans", "quantity": 2,
            "unitPrice": "12.50", "lineTotal": "25.00"
        }])
    );
    let buyer = order["buyerId"].as_str().unwrap();
    assert_eq!(
        order["subscribers"],
        json!([buyer]),
        "the buyer follows the order"
    );
    assert!(order.get("cancellationReason").is_none());
    for stamp in ["createdAt", "updatedAt"] {
        let text = order[stamp].as_str().unwrap();
        time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).unwrap();
    }
}

#[tokio::test]
async fn the_owner_reads_the_order_they_placed() {
    let app = TestApp::spawn().await;
    let id = app.place_order("alice").await;
    let alice = app.token("alice").await;
    let answer = app.get(&format!("/orders/{id}"), &alice).await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.body["id"], id.as_str());
    assert_eq!(answer.body["total"], "25.00");
    assert_eq!(answer.header("etag"), Some("\"2\""));
}

#[tokio::test]
async fn an_admin_confirms_a_pending_order() {
    let app = TestApp::spawn().await;
    let id = app.place_order("alice").await;
    let admin = app.token("admin").await;
    let answer = app
        .post_empty(&format!("/orders/{id}/confirm"), &admin)
        .await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.body["status"], "confirmed");
    assert_eq!(answer.header("etag"), Some("\"3\""));
    assert!(answer.header("orderflow-position").is_some());

    let alice = app.token("alice").await;
    let read = app.get(&format!("/orders/{id}"), &alice).await;
    assert_eq!(read.body["status"], "confirmed");
}

#[tokio::test]
async fn the_owner_cancels_with_a_reason() {
    let app = TestApp::spawn().await;
    let id = app.place_order("alice").await;
    let alice = app.token("alice").await;
    let answer = app
        .post_json(
            &format!("/orders/{id}/cancel"),
            &alice,
            &json!({ "reason": "changed my mind" }),
        )
        .await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.body["status"], "cancelled");
    assert_eq!(answer.body["cancellationReason"], "changed my mind");
    assert!(answer.header("orderflow-position").is_some());
}

#[tokio::test]
async fn cancelling_needs_no_body() {
    let app = TestApp::spawn().await;
    let id = app.place_order("alice").await;
    let admin = app.token("admin").await;
    let answer = app
        .post_empty(&format!("/orders/{id}/cancel"), &admin)
        .await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.body["status"], "cancelled");
    assert!(answer.body.get("cancellationReason").is_none());
}

#[tokio::test]
async fn subscribing_someone_twice_adds_them_once() {
    let app = TestApp::spawn().await;
    let id = app.place_order("alice").await;
    let alice = app.token("alice").await;
    let path = format!("/orders/{id}/subscribers");
    let body = json!({ "subscriberId": "carol" });

    let first = app.post_json(&path, &alice, &body).await;
    assert_eq!(first.status, 200, "{first:?}");
    let subscribers = first.body["subscribers"].as_array().unwrap().clone();
    assert!(subscribers.contains(&json!("carol")));
    assert_eq!(first.header("etag"), Some("\"3\""));
    assert!(first.header("orderflow-position").is_some());

    let second = app.post_json(&path, &alice, &body).await;
    assert_eq!(second.status, 200, "{second:?}");
    assert_eq!(second.body["subscribers"].as_array().unwrap(), &subscribers);
    assert_eq!(second.header("etag"), Some("\"3\""));
    assert_eq!(
        second.header("orderflow-position"),
        None,
        "nothing was written"
    );
    assert_eq!(app.stream_length(&id).await, 3);
}

#[tokio::test]
async fn a_client_correlation_id_is_echoed() {
    let app = TestApp::spawn().await;
    let alice = app.token("alice").await;
    let id = "0190f0c2-7c4e-7b7a-9a1e-2b8d1c3e4f50";
    let answer = app
        .send(
            app.http
                .post(app.url("/orders"))
                .bearer_auth(&alice)
                .header("x-correlation-id", id)
                .json(&coffee_order()),
        )
        .await;
    assert_eq!(answer.status, 201);
    assert_eq!(answer.header("x-correlation-id"), Some(id));

    let stream = StreamName::parse(format!("order-{}", answer.order_id())).unwrap();
    let events = app.store.read_stream(&stream, 0, 10).await.unwrap();
    assert_eq!(events.len(), 2);
    for event in events {
        assert_eq!(
            event.metadata.correlation_id.to_string(),
            id,
            "the request's id is the events' id"
        );
    }
}
