//! Invalid transitions and lost races are 409s; exactly one of many racing confirms wins.

use crate::support::TestApp;

#[tokio::test]
async fn confirming_an_already_confirmed_order_is_a_conflict() {
    let app = TestApp::spawn().await;
    let id = app.place_order("alice").await;
    let admin = app.token("admin").await;
    let path = format!("/orders/{id}/confirm");
    assert_eq!(app.post_empty(&path, &admin).await.status, 200);
    let answer = app.post_empty(&path, &admin).await;
    answer.assert_problem(409);
    assert_eq!(app.stream_length(&id).await, 3);
}

#[tokio::test]
async fn cancelling_a_confirmed_order_is_a_conflict() {
    let app = TestApp::spawn().await;
    let id = app.place_order("alice").await;
    let admin = app.token("admin").await;
    let alice = app.token("alice").await;
    assert_eq!(
        app.post_empty(&format!("/orders/{id}/confirm"), &admin)
            .await
            .status,
        200
    );
    let answer = app
        .post_empty(&format!("/orders/{id}/cancel"), &alice)
        .await;
    answer.assert_problem(409);
}

#[tokio::test]
async fn sixteen_concurrent_confirms_of_one_order_have_exactly_one_winner() {
    let app = TestApp::spawn().await;
    let id = app.place_order("alice").await;
    let admin = app.token("admin").await;
    let path = format!("/orders/{id}/confirm");
    let answers = futures::future::join_all((0..16).map(|_| app.post_empty(&path, &admin))).await;

    let winners = answers.iter().filter(|answer| answer.status == 200).count();
    assert_eq!(winners, 1, "{answers:?}");
    for answer in answers.iter().filter(|answer| answer.status != 200) {
        answer.assert_problem(409);
    }
    assert_eq!(
        app.stream_length(&id).await,
        3,
        "one OrderConfirmed, no more"
    );
}

#[tokio::test]
async fn a_closed_order_takes_no_new_subscribers_and_ids_must_be_user_ids() {
    let app = TestApp::spawn().await;
    let id = app.place_order("alice").await;
    let alice = app.token("alice").await;
    let path = format!("/orders/{id}/subscribers");
    let answer = app
        .post_json(
            &path,
            &alice,
            &serde_json::json!({ "subscriberId": "not an id" }),
        )
        .await;
    assert_eq!(
        answer.assert_problem(422)["errors"][0]["code"],
        "invalid_subscriber_id"
    );

    let cancel = app
        .post_empty(&format!("/orders/{id}/cancel"), &alice)
        .await;
    assert_eq!(cancel.status, 200);
    let answer = app
        .post_json(&path, &alice, &serde_json::json!({ "subscriberId": "bob" }))
        .await;
    assert_eq!(answer.assert_problem(409)["code"], "order_closed");
    assert_eq!(
        app.stream_length(&id).await,
        3,
        "created, buyer subscribed, cancelled"
    );
}
