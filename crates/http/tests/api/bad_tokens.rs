//! Every kind of bad token is refused with 401 problem+json and a Bearer challenge, and
//! nothing is written.

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use crate::support::{TestApp, coffee_order, encode_part, foreign_key, now, with};

/// Places the contract's order with `authorization` as the header (none when `None`) and
/// asserts a 401 problem with a Bearer challenge; returns the problem's body.
async fn assert_refused(app: &TestApp, authorization: Option<&str>) -> Value {
    let mut request = app.http.post(app.url("/orders")).json(&coffee_order());
    if let Some(authorization) = authorization {
        request = request.header("authorization", authorization);
    }
    let answer = app.send(request).await;
    let body = answer.assert_problem(401).clone();
    let challenge = answer.header("www-authenticate").unwrap();
    assert!(challenge.starts_with("Bearer"), "{challenge}");
    assert!(answer.header("x-correlation-id").is_some());
    body
}

async fn assert_token_refused(app: &TestApp, token: &str) {
    let body = assert_refused(app, Some(&format!("Bearer {token}"))).await;
    assert_eq!(body["code"], "invalid_token", "{body}");
}

#[tokio::test]
async fn a_request_without_a_token_is_unauthorized() {
    let app = TestApp::spawn().await;
    let body = assert_refused(&app, None).await;
    assert_eq!(body["code"], "missing_token");
    assert_refused(&app, Some("Basic YWxpY2U6YWxpY2U=")).await;
    assert_refused(&app, Some("Bearer ")).await;
}

#[tokio::test]
async fn a_malformed_token_is_unauthorized() {
    let app = TestApp::spawn().await;
    for token in ["not-a-jwt", "a.b", "a.b.c", "eyJhbGciOiJSUzI1NiJ9.e30."] {
        assert_token_refused(&app, token).await;
    }
}

#[tokio::test]
async fn an_expired_token_is_unauthorized() {
    let app = TestApp::spawn().await;
    let claims = with(
        app.claims_of("alice").await,
        json!({ "exp": now() - 300, "iat": now() - 900 }),
    );
    let token = app.sign_as_issuer(&app.issuer_header(), &claims).await;
    assert_token_refused(&app, &token).await;
}

#[tokio::test]
async fn a_token_that_is_not_yet_valid_is_unauthorized() {
    let app = TestApp::spawn().await;
    let claims = with(
        app.claims_of("alice").await,
        json!({ "nbf": now() + 600, "exp": now() + 900 }),
    );
    let token = app.sign_as_issuer(&app.issuer_header(), &claims).await;
    assert_token_refused(&app, &token).await;
}

#[tokio::test]
async fn a_token_from_another_issuer_is_unauthorized() {
    let app = TestApp::spawn().await;
    let claims = with(
        app.claims_of("alice").await,
        json!({ "iss": "http://evil.example/realms/orderflow" }),
    );
    let token = app.sign_as_issuer(&app.issuer_header(), &claims).await;
    assert_token_refused(&app, &token).await;
}

#[tokio::test]
async fn a_token_for_another_audience_is_unauthorized() {
    let app = TestApp::spawn_with_validator(|config| config.with_audience("billing-api")).await;
    // A genuine token of the issuer, but for `orderflow-api`, `account` / `orderflow-web`.
    let token = app.token("alice").await;
    assert_token_refused(&app, &token).await;

    let for_the_api = with(
        app.claims_of("alice").await,
        json!({ "aud": ["account", "billing-api"] }),
    );
    let token = app.sign_as_issuer(&app.issuer_header(), &for_the_api).await;
    let answer = app.post_json("/orders", &token, &coffee_order()).await;
    assert_eq!(
        answer.status, 201,
        "the same token for the right audience passes"
    );
}

#[tokio::test]
async fn a_token_with_a_tampered_payload_is_unauthorized() {
    let app = TestApp::spawn().await;
    let token = app.token("alice").await;
    let parts: Vec<&str> = token.split('.').collect();
    let mut claims = app.claims_of("alice").await;
    claims["realm_access"]["roles"] = json!(["buyer", "admin"]);
    let tampered = format!("{}.{}.{}", parts[0], encode_part(&claims), parts[2]);
    assert_token_refused(&app, &tampered).await;
}

#[tokio::test]
async fn a_token_signed_by_another_key_under_the_issuers_kid_is_unauthorized() {
    let app = TestApp::spawn().await;
    let claims = app.claims_of("alice").await;
    let forged = jsonwebtoken::encode(&app.issuer_header(), &claims, foreign_key()).unwrap();
    assert_token_refused(&app, &forged).await;
}

#[tokio::test]
async fn an_unsigned_alg_none_token_is_unauthorized() {
    let app = TestApp::spawn().await;
    let payload = encode_part(&app.claims_of("alice").await);
    let header = encode_part(&json!({ "alg": "none", "typ": "JWT", "kid": app.issuer.key_id() }));
    assert_token_refused(&app, &format!("{header}.{payload}.")).await;
}

#[tokio::test]
async fn an_hs256_token_keyed_with_the_issuers_public_key_is_unauthorized() {
    let app = TestApp::spawn().await;
    let jwks = app
        .send(
            app.http
                .get(app.url("/realms/orderflow/protocol/openid-connect/certs")),
        )
        .await
        .body;
    let signing_jwk = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|key| key["kid"] == app.issuer.key_id())
        .unwrap()
        .clone();
    let claims = app.claims_of("alice").await;
    let secrets = [
        serde_json::to_vec(&signing_jwk).unwrap(),
        signing_jwk["n"].as_str().unwrap().as_bytes().to_vec(),
    ];
    for secret in secrets {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(app.issuer.key_id().to_owned());
        let token =
            jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(&secret)).unwrap();
        assert_token_refused(&app, &token).await;
    }
}

#[tokio::test]
async fn a_token_naming_an_unknown_key_is_unauthorized() {
    let app = TestApp::spawn().await;
    let mut header = app.issuer_header();
    header.kid = Some("no-such-key".into());
    let token =
        jsonwebtoken::encode(&header, &app.claims_of("alice").await, foreign_key()).unwrap();
    assert_token_refused(&app, &token).await;
}

#[tokio::test]
async fn an_id_token_used_as_an_access_token_is_unauthorized() {
    let app = TestApp::spawn().await;
    let claims = with(
        app.claims_of("alice").await,
        json!({ "typ": "ID", "aud": "orderflow-web" }),
    );
    let token = app.sign_as_issuer(&app.issuer_header(), &claims).await;
    assert_token_refused(&app, &token).await;
}

#[tokio::test]
async fn a_token_whose_subject_is_not_a_user_id_is_unauthorized() {
    let app = TestApp::spawn().await;
    let claims = with(
        app.claims_of("alice").await,
        json!({ "sub": "x".repeat(4096) }),
    );
    let token = app.sign_as_issuer(&app.issuer_header(), &claims).await;
    assert_token_refused(&app, &token).await;
}

#[tokio::test]
async fn bad_tokens_are_refused_on_every_route() {
    let app = TestApp::spawn().await;
    let id = app.place_order("alice").await;
    for (method, path) in [
        ("GET", format!("/orders/{id}")),
        ("POST", format!("/orders/{id}/confirm")),
        ("POST", format!("/orders/{id}/cancel")),
        ("POST", format!("/orders/{id}/subscribers")),
    ] {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let answer = app
            .send(
                app.http
                    .request(method, app.url(&path))
                    .bearer_auth("not-a-jwt"),
            )
            .await;
        answer.assert_problem(401);
    }
    assert_eq!(app.stream_length(&id).await, 2, "nothing was written");
}

#[tokio::test]
async fn an_unreachable_identity_provider_is_a_503_to_retry_not_a_401() {
    let app = TestApp::spawn_with_validator(|mut config| {
        config.issuer = "http://127.0.0.1:1/realms/orderflow".into();
        config
    })
    .await;
    let token = app.token("alice").await;
    let answer = app.post_json("/orders", &token, &coffee_order()).await;
    assert_eq!(
        answer.assert_problem(503)["code"],
        "identity_provider_unavailable"
    );
    assert!(answer.header("retry-after").is_some());
}

#[tokio::test]
async fn two_authorization_headers_are_a_bad_request_whichever_comes_first() {
    let app = TestApp::spawn().await;
    let alice = app.token("alice").await;
    let valid = format!("Bearer {alice}");
    for (first, second) in [
        (valid.as_str(), "Bearer junk"),
        ("Bearer junk", valid.as_str()),
    ] {
        let request = app
            .http
            .post(app.url("/orders"))
            .header("authorization", first)
            .header("authorization", second)
            .json(&coffee_order());
        let answer = app.send(request).await;
        let body = answer.assert_problem(400);
        assert_eq!(body["code"], "repeated_authorization", "{body}");
    }
    // Even the same valid token twice is ambiguous.
    let request = app
        .http
        .get(app.url("/orders"))
        .header("authorization", &valid)
        .header("authorization", &valid);
    app.send(request).await.assert_problem(400);
}

#[tokio::test]
async fn a_token_of_the_issuer_for_another_service_or_client_is_unauthorized() {
    let app = TestApp::spawn().await;
    for changes in [
        json!({ "aud": "other-service" }),
        json!({ "aud": "other-service", "azp": "evil-client" }),
        json!({ "aud": null, "azp": "evil-client" }),
    ] {
        let claims = with(app.claims_of("alice").await, changes);
        let token = app.sign_as_issuer(&app.issuer_header(), &claims).await;
        assert_token_refused(&app, &token).await;
    }
}

#[tokio::test]
async fn a_token_issued_in_the_future_is_unauthorized() {
    let app = TestApp::spawn().await;
    let claims = with(app.claims_of("alice").await, json!({ "iat": now() + 600 }));
    let token = app.sign_as_issuer(&app.issuer_header(), &claims).await;
    assert_token_refused(&app, &token).await;

    // Within the leeway, a slightly fast clock at the issuer is tolerated.
    let claims = with(app.claims_of("alice").await, json!({ "iat": now() + 5 }));
    let token = app.sign_as_issuer(&app.issuer_header(), &claims).await;
    let answer = app.post_json("/orders", &token, &coffee_order()).await;
    assert_eq!(answer.status, 201);
}
