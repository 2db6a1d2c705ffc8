//! Negotiate and connect: versions, transports, tokens and connection ids.

use orderflow_hub::HubConfig;
use serde_json::{Value, json};

use crate::support::{HubClient, TestHub, http, refused_status};

async fn problem(response: reqwest::Response, status: u16) -> Value {
    assert_eq!(response.status(), status);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], status);
    body
}

#[tokio::test]
async fn negotiate_version_one_answers_a_connection_token_and_only_websockets_with_text() {
    let running = TestHub::start().await;
    let token = running.token("alice");
    let response = running.negotiate("?negotiateVersion=1", Some(&token)).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["negotiateVersion"], 1);
    let connection_id = body["connectionId"].as_str().unwrap();
    let connection_token = body["connectionToken"].as_str().unwrap();
    assert_ne!(connection_id, connection_token);
    assert_eq!(
        body["availableTransports"],
        json!([{ "transport": "WebSockets", "transferFormats": ["Text"] }])
    );
    assert!(body.get("useStatefulReconnect").is_none());

    // The public id is not what the socket presents in version 1.
    let by_id = running
        .open_socket(&format!("?id={connection_id}"), Some(&token))
        .await;
    assert_eq!(refused_status(by_id), 404);
    let socket = running
        .open_socket(&format!("?id={connection_token}"), Some(&token))
        .await
        .unwrap();
    HubClient::new(socket).handshake().await;
}

#[tokio::test]
async fn negotiate_version_zero_answers_a_connection_id_that_the_socket_presents() {
    let running = TestHub::start().await;
    let token = running.token("alice");
    for query in ["", "?negotiateVersion=0"] {
        let response = running.negotiate(query, Some(&token)).await;
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["negotiateVersion"], 0);
        assert!(body.get("connectionToken").is_none(), "{body}");
        let connection_id = body["connectionId"].as_str().unwrap();
        let socket = running
            .open_socket(&format!("?id={connection_id}"), Some(&token))
            .await
            .unwrap();
        HubClient::new(socket).handshake().await;
    }
}

#[tokio::test]
async fn a_higher_negotiate_version_is_answered_with_version_one() {
    let running = TestHub::start().await;
    let token = running.token("alice");
    let response = running.negotiate("?negotiateVersion=5", Some(&token)).await;
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["negotiateVersion"], 1);
    assert!(body["connectionToken"].is_string());
}

#[tokio::test]
async fn negotiate_without_a_valid_bearer_header_is_a_401_problem() {
    let running = TestHub::start().await;
    let missing = running.negotiate("?negotiateVersion=1", None).await;
    assert_eq!(
        missing.headers()["www-authenticate"],
        "Bearer realm=\"orderflow\""
    );
    let body = problem(missing, 401).await;
    assert_eq!(body["code"], "unauthenticated");

    let forged = running
        .negotiate("?negotiateVersion=1", Some("not.a.token"))
        .await;
    problem(forged, 401).await;

    // The query form is for the WebSocket only: negotiate ignores it.
    let token = running.token("alice");
    let in_query = running
        .negotiate(&format!("?negotiateVersion=1&access_token={token}"), None)
        .await;
    problem(in_query, 401).await;
}

#[tokio::test]
async fn connecting_without_a_valid_token_is_a_401_problem() {
    let running = TestHub::start().await;
    assert_eq!(refused_status(running.open_socket("", None).await), 401);
    assert_eq!(
        refused_status(running.open_socket("?access_token=forged", None).await),
        401
    );
    let token = running.token("alice");
    let connection_token = running.negotiate_token(&token).await;
    assert_eq!(
        refused_status(
            running
                .open_socket(&format!("?id={connection_token}"), None)
                .await
        ),
        401
    );

    let plain_get = http().get(running.hub_url()).send().await.unwrap();
    problem(plain_get, 401).await;
}

#[tokio::test]
async fn an_unknown_or_used_connection_id_is_404() {
    let running = TestHub::start().await;
    let token = running.token("alice");
    assert_eq!(
        refused_status(running.open_socket("?id=no-such-id", Some(&token)).await),
        404
    );
    let connection_token = running.negotiate_token(&token).await;
    let query = format!("?id={connection_token}");
    let _first = running.open_socket(&query, Some(&token)).await.unwrap();
    assert_eq!(
        refused_status(running.open_socket(&query, Some(&token)).await),
        404,
        "a negotiated id is usable once"
    );
}

#[tokio::test]
async fn a_connection_token_works_only_for_the_user_who_negotiated_it() {
    let running = TestHub::start().await;
    let alice = running.token("alice");
    let bob = running.token("bob");
    let connection_token = running.negotiate_token(&alice).await;
    let query = format!("?id={connection_token}");
    assert_eq!(
        refused_status(running.open_socket(&query, Some(&bob)).await),
        404
    );
    let socket = running.open_socket(&query, Some(&alice)).await.unwrap();
    HubClient::new(socket).handshake().await;
}

#[tokio::test]
async fn browsers_send_the_token_in_the_query_and_clients_may_skip_negotiation() {
    let running = TestHub::start().await;
    let token = running.token("alice");
    let connection_token = running.negotiate_token(&token).await;
    let socket = running
        .open_socket(
            &format!("?id={connection_token}&access_token={token}"),
            None,
        )
        .await
        .unwrap();
    let mut negotiated = HubClient::new(socket);
    negotiated.handshake().await;

    let skipped = running
        .open_socket(&format!("?access_token={token}"), None)
        .await
        .unwrap();
    let mut skipped = HubClient::new(skipped);
    skipped.handshake().await;
    let with_header = running.open_socket("", Some(&token)).await.unwrap();
    let mut with_header = HubClient::new(with_header);
    with_header.handshake().await;
    assert_eq!(
        running
            .hub
            .connections_of(&crate::support::user_id("alice")),
        3
    );
}

#[tokio::test]
async fn a_plain_get_with_a_token_is_told_that_only_websockets_are_offered() {
    let running = TestHub::start().await;
    let token = running.token("alice");
    let response = http()
        .get(running.hub_url())
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let body = problem(response, 400).await;
    assert_eq!(body["code"], "websocket_required");
}

#[tokio::test]
async fn one_users_negotiate_flood_does_not_refuse_another_user() {
    let running = TestHub::start_with(HubConfig {
        max_pending_negotiations: 100,
        max_pending_negotiations_per_user: 10,
        ..HubConfig::default()
    })
    .await;
    let flooding = running.token("bob");
    let mut refused = 0;
    for _ in 0..110 {
        let response = running
            .negotiate("?negotiateVersion=1", Some(&flooding))
            .await;
        if response.status() != 200 {
            let body = problem(response, 429).await;
            assert_eq!(body["code"], "too_many_negotiations_for_user");
            refused += 1;
        }
    }
    assert_eq!(refused, 100, "bob got his share of 10 and no more");
    let alice = running.token("alice");
    let response = running.negotiate("?negotiateVersion=1", Some(&alice)).await;
    assert_eq!(
        response.status(),
        200,
        "alice is not refused for bob's flood"
    );
}

#[tokio::test]
async fn a_user_over_their_connection_limit_is_refused_and_others_still_connect() {
    let running = TestHub::start_with(HubConfig {
        max_connections_per_user: 2,
        ..HubConfig::default()
    })
    .await;
    let _tabs = [running.client("bob").await, running.client("bob").await];
    let bob = running.token("bob");
    let connection_token = running.negotiate_token(&bob).await;
    let third = running
        .open_socket(&format!("?id={connection_token}"), Some(&bob))
        .await;
    assert_eq!(refused_status(third), 429);
    assert_eq!(
        running
            .hub
            .connections_of(&crate::support::user_id("alice")),
        0
    );
    let _alice = running.client("alice").await;
    assert_eq!(
        running
            .hub
            .connections_of(&crate::support::user_id("alice")),
        1
    );
}

#[tokio::test]
async fn other_methods_on_negotiate_and_the_hub_path_are_405_problems() {
    let running = TestHub::start().await;
    let get_negotiate = http()
        .get(format!("{}/negotiate", running.hub_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(get_negotiate.headers()["allow"], "POST");
    let body = problem(get_negotiate, 405).await;
    assert_eq!(body["code"], "method_not_allowed");
    let post_hub = http().post(running.hub_url()).send().await.unwrap();
    assert_eq!(post_hub.headers()["allow"], "GET");
    problem(post_hub, 405).await;
}

#[tokio::test]
async fn sockets_opened_together_past_the_users_limit_are_refused_at_the_handshake() {
    let running = TestHub::start_with(HubConfig {
        max_connections_per_user: 1,
        ..HubConfig::default()
    })
    .await;
    let bob = running.token("bob");
    // Both upgrades pass before either connection is listed.
    let mut sockets = Vec::new();
    for _ in 0..2 {
        let connection_token = running.negotiate_token(&bob).await;
        let socket = running
            .open_socket(&format!("?id={connection_token}"), Some(&bob))
            .await
            .unwrap();
        sockets.push(HubClient::new(socket));
    }
    let mut second = sockets.pop().unwrap();
    let mut first = sockets.pop().unwrap();
    first.handshake().await;
    second
        .send_record(json!({"protocol": "json", "version": 1}))
        .await;
    let answer = second.next_message().await;
    assert!(
        answer["error"]
            .as_str()
            .unwrap_or_default()
            .contains("too many connections for this user"),
        "{answer}"
    );
    assert_eq!(
        running.hub.connections_of(&crate::support::user_id("bob")),
        1
    );
}

#[tokio::test]
async fn two_tokens_in_one_request_are_a_bad_request_not_a_guess() {
    let running = TestHub::start().await;
    let token = running.token("alice");
    let response = http()
        .post(format!(
            "{}/negotiate?negotiateVersion=1",
            running.hub_url()
        ))
        .header("authorization", format!("Bearer {token}"))
        .header("authorization", "Bearer junk")
        .body("")
        .send()
        .await
        .unwrap();
    assert_eq!(
        problem(response, 400).await["code"],
        "repeated_authorization"
    );

    let connection_token = running.negotiate_token(&token).await;
    let twice = format!("?id={connection_token}&access_token={token}&access_token=junk");
    let refused = running.open_socket(&twice, None).await;
    assert_eq!(refused_status(refused), 400);
}
