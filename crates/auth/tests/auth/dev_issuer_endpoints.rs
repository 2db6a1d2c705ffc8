//! The dev issuer answers like Keycloak: discovery, JWKS, token grants and OAuth errors.

use std::collections::BTreeSet;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use orderflow_auth::dev_issuer::LoginLimits;
use orderflow_auth::dev_issuer::{DEFAULT_SERVICE_CLIENT_SECRET, stable_user_id};
use orderflow_auth::{DevIssuer, DevIssuerError, TrustedProxies};
use serde_json::Value;

use crate::support::{
    RunningIssuer, shared_data_dir, start_dev_issuer, start_dev_issuer_with, token_part,
};

#[tokio::test]
async fn discovery_names_the_issuer_and_its_endpoints() {
    let running = start_dev_issuer().await;
    let url = format!(
        "{}/realms/orderflow/.well-known/openid-configuration",
        running.base_url
    );
    let document: Value = running
        .http
        .get(url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let issuer = running.issuer_url();
    assert_eq!(document["issuer"], issuer.as_str());
    assert_eq!(
        document["token_endpoint"],
        format!("{issuer}/protocol/openid-connect/token")
    );
    assert_eq!(
        document["jwks_uri"],
        format!("{issuer}/protocol/openid-connect/certs")
    );
    assert_eq!(
        document["id_token_signing_alg_values_supported"],
        serde_json::json!(["RS256"])
    );
    let grants = document["grant_types_supported"].as_array().unwrap();
    assert!(grants.contains(&"password".into()) && grants.contains(&"client_credentials".into()));

    assert!(
        grants.contains(&"authorization_code".into()) && grants.contains(&"refresh_token".into())
    );
    assert_eq!(
        document["authorization_endpoint"],
        format!("{issuer}/protocol/openid-connect/auth")
    );
    assert_eq!(
        document["end_session_endpoint"],
        format!("{issuer}/protocol/openid-connect/logout")
    );
    assert_eq!(
        document["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
}

#[tokio::test]
async fn the_jwks_publishes_one_rs256_signature_key_under_the_issuers_kid() {
    let running = start_dev_issuer().await;
    let url = format!("{}/protocol/openid-connect/certs", running.issuer_url());
    let jwks: Value = running
        .http
        .get(url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    let key = &keys[0];
    assert_eq!(key["kid"], running.issuer.key_id());
    assert_eq!(key["kty"], "RSA");
    assert_eq!(key["alg"], "RS256");
    assert_eq!(key["use"], "sig");
    assert_eq!(key["e"], "AQAB");
    assert!(
        key["n"].as_str().unwrap().len() >= 342,
        "a 2048-bit modulus in base64url"
    );
}

#[tokio::test]
async fn demo_users_get_keycloak_shaped_tokens_with_their_roles() {
    let running = start_dev_issuer().await;
    let validator = running.default_validator().await;
    for (username, role) in [("alice", "buyer"), ("bob", "buyer"), ("admin", "admin")] {
        let (status, body) = running
            .token_request(&[
                ("grant_type", "password"),
                ("client_id", "orderflow-web"),
                ("username", username),
                ("password", username),
            ])
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["token_type"], "Bearer");
        assert_eq!(body["expires_in"], 3600);
        assert_eq!(body["scope"], "openid profile email");
        assert!(body["refresh_token"].is_string());
        let token = body["access_token"].as_str().unwrap();

        let header = token_part(token, 0);
        assert_eq!(header["alg"], "RS256");
        assert_eq!(header["typ"], "JWT");
        assert_eq!(header["kid"], running.issuer.key_id());

        let claims = token_part(token, 1);
        assert_eq!(claims["iss"], running.issuer_url().as_str());
        assert_eq!(claims["sub"], stable_user_id(username).to_string());
        assert_eq!(claims["azp"], "orderflow-web");
        assert_eq!(
            claims["aud"],
            serde_json::json!(["orderflow-api", "account"])
        );
        assert_eq!(claims["typ"], "Bearer");
        assert_eq!(claims["preferred_username"], username);
        assert_eq!(claims["realm_access"]["roles"], serde_json::json!([role]));
        assert_eq!(claims["scope"], "openid profile email");
        assert!(claims["jti"].is_string() && claims["sid"].is_string());
        let (iat, exp) = (
            claims["iat"].as_i64().unwrap(),
            claims["exp"].as_i64().unwrap(),
        );
        assert_eq!(exp - iat, 3600);

        let principal = validator.validate(token).await.unwrap();
        assert_eq!(principal.user_id, stable_user_id(username).to_string());
        assert_eq!(principal.username.as_deref(), Some(username));
        assert_eq!(principal.roles, BTreeSet::from([role.to_owned()]));
        assert_eq!(principal.client_id.as_deref(), Some("orderflow-web"));
        assert_eq!(principal.is_admin(), role == "admin");
        assert_eq!(principal.is_buyer(), role == "buyer");
        assert_eq!(principal.expires_at.unix_timestamp(), exp);
    }
}

#[tokio::test]
async fn a_wrong_password_or_unknown_user_is_401_invalid_grant() {
    let running = start_dev_issuer().await;
    for (username, password) in [("alice", "bob"), ("alice", ""), ("mallory", "mallory")] {
        let mut form = vec![
            ("grant_type", "password"),
            ("client_id", "orderflow-web"),
            ("username", username),
        ];
        if !password.is_empty() {
            form.push(("password", password));
        }
        let (status, body) = running.token_request(&form).await;
        if password.is_empty() {
            assert_eq!(
                (status, body["error"].as_str()),
                (400, Some("invalid_request"))
            );
        } else {
            assert_eq!(status, 401);
            assert_eq!(body["error"], "invalid_grant");
            assert_eq!(body["error_description"], "Invalid user credentials");
        }
    }
}

#[tokio::test]
async fn bad_requests_get_oauth_errors_and_never_a_5xx() {
    let running = start_dev_issuer().await;
    let cases: [(Form<'_>, u16, &str); 5] = [
        (
            &[
                ("grant_type", "authorization_code"),
                ("client_id", "orderflow-web"),
            ],
            400,
            "invalid_request",
        ),
        (
            &[("grant_type", "urn:made-up")],
            400,
            "unsupported_grant_type",
        ),
        (&[("client_id", "orderflow-web")], 400, "invalid_request"),
        (
            &[
                ("grant_type", "password"),
                ("username", "alice"),
                ("password", "alice"),
            ],
            400,
            "invalid_request",
        ),
        (
            &[
                ("grant_type", "password"),
                ("client_id", "someone-else"),
                ("username", "alice"),
                ("password", "alice"),
            ],
            401,
            "invalid_client",
        ),
    ];
    for (form, expected_status, expected_error) in cases {
        let (status, body) = running.token_request(form).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (expected_status, Some(expected_error)),
            "{form:?}"
        );
        assert!(body["error_description"].is_string());
    }

    let duplicated = "grant_type=password&grant_type=client_credentials&client_id=orderflow-web";
    let (status, body) = raw_token_request(
        &running,
        "application/x-www-form-urlencoded",
        duplicated.into(),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request"))
    );

    let (status, body) = raw_token_request(
        &running,
        "application/json",
        r#"{"grant_type":"password"}"#.into(),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request"))
    );

    let oversized = format!("grant_type=password&padding={}", "x".repeat(20 * 1024));
    let (status, _) =
        raw_token_request(&running, "application/x-www-form-urlencoded", oversized).await;
    assert_eq!(status, 413);

    let not_utf8_form = "grant_type=%FF%FE&client_id=%C3%28";
    let (status, _) = raw_token_request(
        &running,
        "application/x-www-form-urlencoded",
        not_utf8_form.into(),
    )
    .await;
    assert_eq!(status, 400);
}

/// Form parameters of a token request.
type Form<'a> = &'a [(&'a str, &'a str)];

async fn raw_token_request(
    running: &crate::support::RunningIssuer,
    content_type: &str,
    body: String,
) -> (u16, Value) {
    let response = running
        .http
        .post(running.token_endpoint())
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn client_credentials_work_with_the_service_secret_only() {
    let running = start_dev_issuer().await;
    let validator = running.default_validator().await;

    let (status, body) = running
        .token_request(&[
            ("grant_type", "client_credentials"),
            ("client_id", "orderflow-service"),
            ("client_secret", DEFAULT_SERVICE_CLIENT_SECRET),
        ])
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.get("refresh_token").is_none());
    let principal = validator
        .validate(body["access_token"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(
        principal.username.as_deref(),
        Some("service-account-orderflow-service")
    );
    assert_eq!(
        principal.user_id,
        stable_user_id("service-account-orderflow-service").to_string()
    );
    assert_eq!(principal.client_id.as_deref(), Some("orderflow-service"));
    assert_eq!(principal.roles, BTreeSet::from(["service".to_owned()]));

    let basic = format!(
        "Basic {}",
        STANDARD.encode(format!("orderflow-service:{DEFAULT_SERVICE_CLIENT_SECRET}"))
    );
    let response = running
        .http
        .post(running.token_endpoint())
        .header("content-type", "application/x-www-form-urlencoded")
        .header("authorization", basic)
        .body("grant_type=client_credentials")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);

    for form in [
        vec![
            ("grant_type", "client_credentials"),
            ("client_id", "orderflow-service"),
        ],
        vec![
            ("grant_type", "client_credentials"),
            ("client_id", "orderflow-service"),
            ("client_secret", "guess"),
        ],
    ] {
        let (status, body) = running.token_request(&form).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (401, Some("invalid_client"))
        );
    }
    let (status, body) = running
        .token_request(&[
            ("grant_type", "client_credentials"),
            ("client_id", "orderflow-web"),
        ])
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("unauthorized_client"))
    );
}

#[tokio::test]
async fn a_refresh_token_buys_a_new_access_token_but_is_not_one() {
    let running = start_dev_issuer().await;
    let validator = running.default_validator().await;
    let (_, first) = running.password_grant("bob", "bob").await;
    let refresh_token = first["refresh_token"].as_str().unwrap();
    assert_eq!(
        validator.validate(refresh_token).await,
        Err(orderflow_auth::AuthError::WrongTokenType)
    );

    let (status, second) = running.refresh_grant(refresh_token).await;
    assert_eq!(status, 200, "{second}");
    assert_eq!(second["session_state"], first["session_state"]);
    let principal = validator
        .validate(second["access_token"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(principal.username.as_deref(), Some("bob"));

    let access_token = first["access_token"].as_str().unwrap();
    let (status, body) = running
        .token_request(&[
            ("grant_type", "refresh_token"),
            ("client_id", "orderflow-web"),
            ("refresh_token", access_token),
        ])
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
}

#[tokio::test]
async fn the_signing_key_persists_across_starts_with_private_permissions() {
    let data_dir = shared_data_dir().await;
    let url = "http://127.0.0.1:9/realms/orderflow".to_owned();
    let first = DevIssuer::load_or_create(data_dir, url.clone(), None)
        .await
        .unwrap();
    let second = DevIssuer::load_or_create(data_dir, url, None)
        .await
        .unwrap();
    assert_eq!(first.key_id(), second.key_id());
    assert_eq!(first.key_id().len(), 43, "a base64url SHA-256 thumbprint");

    let pem = std::fs::read_to_string(DevIssuer::signing_key_path(data_dir)).unwrap();
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(DevIssuer::signing_key_path(data_dir))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    assert!(!format!("{first:?}").contains("PRIVATE"));
}

#[tokio::test]
async fn the_cli_path_issues_tokens_for_known_users_only() {
    let running = start_dev_issuer().await;
    let validator = running.default_validator().await;
    let tokens = running.issuer.issue_for_user("admin").unwrap();
    assert!(!format!("{tokens:?}").contains(&tokens.access_token));
    let principal = validator.validate(&tokens.access_token).await.unwrap();
    assert!(principal.is_admin());
    assert!(matches!(
        running.issuer.issue_for_user("nobody"),
        Err(DevIssuerError::UnknownUser(_))
    ));
}

#[tokio::test]
async fn a_users_file_replaces_the_demo_users() {
    let data_dir = shared_data_dir().await;
    let users_file = data_dir.join(format!("users-{}.json", uuid::Uuid::new_v4()));
    std::fs::write(
        &users_file,
        r#"[{"username":"carol","password":"pw","roles":["buyer","admin"]},
            {"username":"dave","password":"pw2","id":"00000000-0000-0000-0000-00000000000d","roles":[]}]"#,
    )
    .unwrap();
    let url = "http://127.0.0.1:9/realms/orderflow".to_owned();
    let issuer = DevIssuer::load_or_create(data_dir, url.clone(), Some(&users_file))
        .await
        .unwrap();
    let usernames: Vec<&str> = issuer.users().iter().map(|user| user.username()).collect();
    assert_eq!(usernames, ["carol", "dave"]);
    assert_eq!(
        issuer.users()[1].id().to_string(),
        "00000000-0000-0000-0000-00000000000d"
    );
    assert!(issuer.issue_for_user("alice").is_err());

    std::fs::write(
        &users_file,
        r#"[{"username":"x","password":"a"},{"username":"x","password":"b"}]"#,
    )
    .unwrap();
    assert!(matches!(
        DevIssuer::load_or_create(data_dir, url, Some(&users_file)).await,
        Err(DevIssuerError::UsersFileInvalid { .. })
    ));
}

#[tokio::test]
async fn failed_logins_beyond_the_limit_lock_the_user_out_for_a_while() {
    let running = start_dev_issuer().await;
    for _ in 0..5 {
        assert_eq!(running.password_grant("alice", "guess").await.0, 401);
    }
    // Locked now, even with the right password; another user is not.
    let (status, body) = running.password_grant("alice", "alice").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (429, Some("invalid_grant")),
        "{body}"
    );
    assert_eq!(running.password_grant("bob", "bob").await.0, 200);
}

/// Three failures from one address lock it out; users are never locked out here.
const THREE_PER_ADDRESS: LoginLimits = LoginLimits {
    per_user: 100,
    per_address: 3,
    window: Duration::from_secs(60),
};

/// Failed logins for unknown names count only against the client's address.
async fn spray_unknown_users(running: &RunningIssuer, forwarded_for: &str, count: usize) {
    for attempt in 0..count {
        let (status, body) = running
            .password_grant_forwarded(&format!("nobody-{attempt}"), "guess", forwarded_for)
            .await;
        assert_eq!(status, 401, "attempt {attempt}: {body}");
    }
}

#[tokio::test]
async fn behind_a_trusted_proxy_failed_logins_count_against_the_forwarded_client() {
    let running = start_dev_issuer_with(|issuer| {
        issuer
            .with_login_limits(THREE_PER_ADDRESS)
            .with_trusted_proxies(TrustedProxies::parse(["127.0.0.1"]).unwrap())
    })
    .await;
    spray_unknown_users(&running, "198.51.100.1", 3).await;
    // That client is locked out, even with the right password…
    let (status, body) = running
        .password_grant_forwarded("alice", "alice", "198.51.100.1")
        .await;
    assert_eq!(status, 429, "{body}");
    // …and cannot escape by prepending an address of its choice: the proxy appended its own.
    let (status, body) = running
        .password_grant_forwarded("alice", "alice", "203.0.113.7, 198.51.100.1")
        .await;
    assert_eq!(status, 429, "{body}");
    // Another client behind the same proxy is not locked out.
    let (status, body) = running
        .password_grant_forwarded("alice", "alice", "198.51.100.2")
        .await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn from_an_untrusted_peer_x_forwarded_for_changes_nothing() {
    let running = start_dev_issuer_with(|issuer| issuer.with_login_limits(THREE_PER_ADDRESS)).await;
    // A different forwarded address each time: all of them count against the peer.
    for attempt in 0..3 {
        let forwarded_for = format!("198.51.100.{attempt}");
        spray_unknown_users(&running, &forwarded_for, 1).await;
    }
    let (status, body) = running
        .password_grant_forwarded("alice", "alice", "203.0.113.99")
        .await;
    assert_eq!(status, 429, "{body}");
}

#[tokio::test]
async fn a_refresh_token_is_rotated_and_its_reuse_revokes_the_session() {
    let running = start_dev_issuer().await;
    let (_, first) = running.password_grant("bob", "bob").await;
    let original = first["refresh_token"].as_str().unwrap();
    let (status, rotated) = running.refresh_grant(original).await;
    assert_eq!(status, 200, "{rotated}");
    let rotated = rotated["refresh_token"].as_str().unwrap();
    assert_ne!(
        rotated, original,
        "a new refresh token comes with each refresh"
    );

    // The original again: a thief (or a replay). Refused, and the session is revoked…
    let (status, body) = running.refresh_grant(original).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    // …so the rotated one, never used, is refused too.
    assert_eq!(running.refresh_grant(rotated).await.0, 400);
}
