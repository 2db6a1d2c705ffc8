//! Pushing updates: every connection of every user, client results, timeouts, shutdown.

use std::time::Duration;

use orderflow_hub::{FailureReason, HubConfig, PushReport};
use serde_json::{Value, json};

use crate::support::{HubClient, Received, TestHub, order_confirmed, user_id};

/// Receives the next `PushUpdate` invocation and returns its id and argument.
async fn receive_push(client: &mut HubClient) -> (Value, Value) {
    let invocation = client.next_message().await;
    assert_eq!(invocation["type"], 1, "{invocation}");
    assert_eq!(invocation["target"], "PushUpdate");
    let invocation_id = invocation["invocationId"].clone();
    assert!(
        invocation_id.as_str().is_some_and(|id| !id.is_empty()),
        "a client-result invocation carries an id: {invocation}"
    );
    let arguments = invocation["arguments"].as_array().unwrap();
    assert_eq!(arguments.len(), 1);
    (invocation_id, arguments[0].clone())
}

fn push_in_background(
    running: &TestHub,
    users: &[&str],
    update: Value,
    ack_timeout: Duration,
) -> tokio::task::JoinHandle<PushReport> {
    let hub = running.hub.clone();
    let users: Vec<String> = users.iter().map(|name| user_id(name)).collect();
    tokio::spawn(async move { hub.push(&users, update, ack_timeout).await })
}

#[tokio::test]
async fn every_connection_of_a_user_gets_the_push_and_both_completions_count() {
    let running = TestHub::start().await;
    let mut first_tab = running.client("alice").await;
    let mut second_tab = running.client("alice").await;
    let mut other_user = running.client("bob").await;
    let update = order_confirmed("o-1");

    let push = push_in_background(&running, &["alice"], update.clone(), Duration::from_secs(5));
    let (first_id, first_argument) = receive_push(&mut first_tab).await;
    let (second_id, second_argument) = receive_push(&mut second_tab).await;
    assert_eq!(first_argument, update);
    assert_eq!(second_argument, update);
    first_tab.complete(&first_id, json!({"seen": 1})).await;
    second_tab.complete(&second_id, json!({"seen": 2})).await;

    let report = tokio::time::timeout(Duration::from_secs(2), push)
        .await
        .expect("the push resolves as soon as both answered")
        .unwrap();
    assert_eq!(report.delivered.len(), 2, "{report:?}");
    assert!(report.every_connection_acknowledged());
    assert!(report.not_connected.is_empty());
    let mut results: Vec<Value> = report
        .delivered
        .iter()
        .map(|delivery| delivery.result.clone().unwrap())
        .collect();
    results.sort_by_key(|result| result["seen"].as_i64());
    assert_eq!(results, vec![json!({"seen": 1}), json!({"seen": 2})]);
    assert_eq!(
        report.users_reached().into_iter().collect::<Vec<_>>(),
        vec![user_id("alice").as_str()]
    );

    assert!(
        other_user
            .next_within(Duration::from_millis(200))
            .await
            .is_none(),
        "another user gets nothing"
    );
}

#[tokio::test]
async fn a_handler_that_returns_nothing_still_counts_as_delivered() {
    let running = TestHub::start().await;
    let mut client = running.client("alice").await;
    let push = push_in_background(
        &running,
        &["alice"],
        order_confirmed("o-2"),
        Duration::from_secs(5),
    );
    let (invocation_id, _) = receive_push(&mut client).await;
    client
        .send_record(json!({
            "type": 3,
            "invocationId": invocation_id,
            "error": "Client didn't provide a result."
        }))
        .await;
    let report = push.await.unwrap();
    assert_eq!(report.delivered.len(), 1, "{report:?}");
    assert_eq!(report.delivered[0].result, None);
}

#[tokio::test]
async fn a_handler_error_is_reported_as_a_failure() {
    let running = TestHub::start().await;
    let mut client = running.client("alice").await;
    let push = push_in_background(
        &running,
        &["alice"],
        order_confirmed("o-3"),
        Duration::from_secs(5),
    );
    let (invocation_id, _) = receive_push(&mut client).await;
    client
        .send_record(json!({"type": 3, "invocationId": invocation_id, "error": "boom"}))
        .await;
    let report = push.await.unwrap();
    assert!(report.delivered.is_empty());
    assert_eq!(
        report.failed[0].reason,
        FailureReason::ClientError("boom".into())
    );
}

#[tokio::test]
async fn a_connection_that_never_answers_times_out_without_delaying_the_others() {
    let running = TestHub::start().await;
    let mut answering = running.client("alice").await;
    let mut silent = running.client("alice").await;
    let mut bob = running.client("bob").await;
    let ack_timeout = Duration::from_millis(1500);
    let started = tokio::time::Instant::now();
    let push = push_in_background(
        &running,
        &["alice", "bob"],
        order_confirmed("o-4"),
        ack_timeout,
    );

    let (answering_id, _) = receive_push(&mut answering).await;
    let (bob_id, _) = receive_push(&mut bob).await;
    let (silent_id, _) = receive_push(&mut silent).await;
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "every connection got the update at once"
    );
    answering.complete(&answering_id, json!("ok")).await;
    bob.complete(&bob_id, json!("ok")).await;

    let report = tokio::time::timeout(Duration::from_secs(5), push)
        .await
        .expect("the push is bounded by its timeout")
        .unwrap();
    let elapsed = started.elapsed();
    assert!(
        elapsed >= ack_timeout,
        "waited for the silent one: {elapsed:?}"
    );
    assert!(
        elapsed < ack_timeout + Duration::from_secs(1),
        "{elapsed:?}"
    );
    assert_eq!(report.delivered.len(), 2, "{report:?}");
    assert_eq!(report.timed_out.len(), 1);
    assert_eq!(report.timed_out[0].user_id, user_id("alice"));
    assert_eq!(report.users_reached().len(), 2);

    // A late completion is ignored and the connection stays usable.
    silent.complete(&silent_id, json!("late")).await;
    let again = push_in_background(
        &running,
        &["alice"],
        order_confirmed("o-5"),
        Duration::from_secs(5),
    );
    let (first, _) = receive_push(&mut answering).await;
    let (second, _) = receive_push(&mut silent).await;
    answering.complete(&first, json!(1)).await;
    silent.complete(&second, json!(2)).await;
    assert_eq!(again.await.unwrap().delivered.len(), 2);
}

#[tokio::test]
async fn a_connection_that_drops_before_answering_fails_at_once() {
    let running = TestHub::start().await;
    let mut client = running.client("alice").await;
    let started = tokio::time::Instant::now();
    let push = push_in_background(
        &running,
        &["alice"],
        order_confirmed("o-6"),
        Duration::from_secs(30),
    );
    let _ = receive_push(&mut client).await;
    drop(client);
    let report = tokio::time::timeout(Duration::from_secs(5), push)
        .await
        .expect("a dropped connection does not hold the push for its timeout")
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(report.failed.len(), 1, "{report:?}");
    assert_eq!(report.failed[0].reason, FailureReason::Disconnected);
}

#[tokio::test]
async fn a_client_that_falls_behind_is_closed_without_holding_up_the_pushes() {
    let running = TestHub::start_with(HubConfig {
        max_pending_invocations: 2,
        ..HubConfig::default()
    })
    .await;
    let mut lagging = running.client("alice").await;
    let started = tokio::time::Instant::now();
    let first = push_in_background(
        &running,
        &["alice"],
        order_confirmed("l-1"),
        Duration::from_secs(30),
    );
    let second = push_in_background(
        &running,
        &["alice"],
        order_confirmed("l-2"),
        Duration::from_secs(30),
    );
    receive_push(&mut lagging).await;
    receive_push(&mut lagging).await;

    let third = running
        .hub
        .push(
            &[user_id("alice")],
            order_confirmed("l-3"),
            Duration::from_secs(30),
        )
        .await;
    assert_eq!(
        third.failed[0].reason,
        FailureReason::Overloaded,
        "{third:?}"
    );
    let close = lagging.expect_close_message().await;
    assert!(
        close["error"].as_str().unwrap().contains("keep up"),
        "{close}"
    );
    assert_eq!(close["allowReconnect"], true);
    for waiting in [first, second] {
        let report = waiting.await.unwrap();
        assert_eq!(report.failed[0].reason, FailureReason::Disconnected);
    }
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[tokio::test]
async fn a_user_without_a_connection_is_reported_not_connected() {
    let running = TestHub::start().await;
    let mut alice = running.client("alice").await;
    let push = push_in_background(
        &running,
        &["alice", "bob", "alice"],
        order_confirmed("o-7"),
        Duration::from_secs(5),
    );
    let (invocation_id, _) = receive_push(&mut alice).await;
    alice.complete(&invocation_id, json!(true)).await;
    let report = push.await.unwrap();
    assert_eq!(report.not_connected, vec![user_id("bob")]);
    assert_eq!(
        report.delivered.len(),
        1,
        "duplicate user ids are pushed once"
    );
    assert!(
        alice
            .next_within(Duration::from_millis(200))
            .await
            .is_none(),
        "one push, one invocation"
    );

    let nobody = running
        .hub
        .push(
            &[user_id("admin")],
            order_confirmed("o-8"),
            Duration::from_secs(5),
        )
        .await;
    assert_eq!(nobody.not_connected, vec![user_id("admin")]);
    assert!(nobody.delivered.is_empty() && nobody.timed_out.is_empty());
}

#[tokio::test]
async fn every_push_reaches_a_connected_admin_too_whoever_it_is_for() {
    let running = TestHub::start().await;
    let mut alice = running.client("alice").await;
    let mut admin = running.client("admin").await;
    let mut bob = running.client("bob").await;
    let push = push_in_background(
        &running,
        &["alice"],
        order_confirmed("o-admin"),
        Duration::from_secs(5),
    );
    let (alice_invocation, to_alice) = receive_push(&mut alice).await;
    let (admin_invocation, to_admin) = receive_push(&mut admin).await;
    assert_eq!(to_admin, to_alice);
    alice.complete(&alice_invocation, json!(true)).await;
    admin.complete(&admin_invocation, json!(true)).await;
    let report = push.await.unwrap();
    let mut delivered: Vec<String> = report
        .delivered
        .iter()
        .map(|delivery| delivery.connection.user_id.clone())
        .collect();
    delivered.sort();
    let mut expected = vec![user_id("alice"), user_id("admin")];
    expected.sort();
    assert_eq!(delivered, expected, "{report:?}");
    assert!(
        bob.next_within(Duration::from_millis(300)).await.is_none(),
        "a buyer gets only the pushes for them"
    );

    // An admin who is also asked for gets the push once.
    let push = push_in_background(
        &running,
        &["admin", "alice"],
        order_confirmed("o-admin-2"),
        Duration::from_secs(5),
    );
    let (alice_invocation, _) = receive_push(&mut alice).await;
    let (admin_invocation, _) = receive_push(&mut admin).await;
    alice.complete(&alice_invocation, json!(true)).await;
    admin.complete(&admin_invocation, json!(true)).await;
    assert_eq!(push.await.unwrap().delivered.len(), 2);
    assert!(
        admin
            .next_within(Duration::from_millis(300))
            .await
            .is_none(),
        "one push, one invocation"
    );
}

#[tokio::test]
async fn shutdown_closes_every_connection_with_allow_reconnect_and_refuses_new_ones() {
    let running = TestHub::start_with(HubConfig {
        shutdown_grace: Duration::from_secs(3),
        ..HubConfig::default()
    })
    .await;
    let mut alice = running.client("alice").await;
    let mut bob = running.client("bob").await;
    let token = running.token("alice");

    let hub = running.hub.clone();
    let shutdown = tokio::spawn(async move { hub.shutdown().await });
    for client in [&mut alice, &mut bob] {
        let close = client.expect_close_message().await;
        assert_eq!(close["allowReconnect"], true, "{close}");
        assert!(close.get("error").is_none(), "{close}");
    }
    tokio::time::timeout(Duration::from_secs(3), shutdown)
        .await
        .expect("shutdown returns once the clients are gone")
        .unwrap();
    assert_eq!(running.hub.connection_count(), 0);

    let negotiate = running.negotiate("?negotiateVersion=1", Some(&token)).await;
    assert_eq!(negotiate.status(), 503);
    let report = running
        .hub
        .push(
            &[user_id("alice")],
            order_confirmed("o-9"),
            Duration::from_secs(1),
        )
        .await;
    assert_eq!(report.not_connected, vec![user_id("alice")]);
    assert!(matches!(
        alice.next_within(Duration::from_millis(100)).await,
        None | Some(Received::SocketClosed)
    ));
}

#[tokio::test]
async fn past_the_hubs_bound_on_awaited_acknowledgements_a_push_is_written_but_not_awaited() {
    let running = TestHub::start_with(HubConfig {
        max_pending_acknowledgements: 1,
        ..HubConfig::default()
    })
    .await;
    let mut alice = running.client("alice").await;
    let mut bob = running.client("bob").await;
    let awaited = push_in_background(
        &running,
        &["alice"],
        order_confirmed("a-1"),
        Duration::from_secs(30),
    );
    let (alice_id, _) = receive_push(&mut alice).await;
    let report = running
        .hub
        .push(
            &[user_id("bob")],
            order_confirmed("b-1"),
            Duration::from_secs(30),
        )
        .await;
    assert_eq!(report.unacknowledged.len(), 1, "{report:?}");
    let invocation = bob.next_message().await;
    assert_eq!(invocation["arguments"][0]["orderId"], "b-1");
    assert!(invocation.get("invocationId").is_none(), "{invocation}");
    alice.complete(&alice_id, json!("ok")).await;
    assert_eq!(awaited.await.unwrap().delivered.len(), 1);
}
