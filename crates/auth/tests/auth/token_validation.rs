//! Every bad token is refused with its own reason; good ones become principals.

use std::collections::BTreeSet;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use orderflow_auth::{AuthError, DEV_AUDIENCE, ValidatorConfig};
use rsa::pkcs1::EncodeRsaPublicKey;
use rsa::pkcs8::{EncodePublicKey, LineEnding};
use rsa::{BigUint, RsaPublicKey};
use serde_json::{Value, json};

use crate::support::{RunningIssuer, encode_part, foreign_key, now, start_dev_issuer, token_part};

async fn issuer_and_alice() -> (RunningIssuer, String) {
    let running = start_dev_issuer().await;
    let token = running.password_token("alice", "alice").await;
    (running, token)
}

fn with(mut claims: Value, changes: Value) -> Value {
    for (name, value) in changes.as_object().unwrap() {
        if value.is_null() {
            claims.as_object_mut().unwrap().remove(name);
        } else {
            claims[name] = value.clone();
        }
    }
    claims
}

#[tokio::test]
async fn a_missing_token_is_missing() {
    let running = start_dev_issuer().await;
    let validator = running.default_validator().await;
    assert_eq!(validator.validate("").await, Err(AuthError::Missing));
    assert_eq!(
        validator.validate_authorization_header(None).await,
        Err(AuthError::Missing)
    );
    assert_eq!(
        validator
            .validate_authorization_header(Some("Basic YTpi"))
            .await,
        Err(AuthError::Missing)
    );
}

#[tokio::test]
async fn the_authorization_header_form_is_accepted() {
    let (running, token) = issuer_and_alice().await;
    let validator = running.default_validator().await;
    let header = format!("bearer {token}");
    let principal = validator
        .validate_authorization_header(Some(&header))
        .await
        .unwrap();
    assert!(principal.is_buyer());
}

#[tokio::test]
async fn malformed_tokens_are_malformed() {
    let (running, token) = issuer_and_alice().await;
    let validator = running.default_validator().await;
    let parts: Vec<&str> = token.split('.').collect();
    let candidates = [
        "not-a-jwt".to_owned(),
        "a.b".to_owned(),
        format!("{token}.extra"),
        format!("{}.{}.{}", "%%%", parts[1], parts[2]),
        format!("{}.{}.{}", parts[0], "not*base64", parts[2]),
        format!(
            "{}.{}.{}",
            URL_SAFE_NO_PAD.encode("[1,2]"),
            parts[1],
            parts[2]
        ),
        format!("{}.{}.", parts[0], parts[1]),
    ];
    for candidate in candidates {
        assert!(
            matches!(
                validator.validate(&candidate).await,
                Err(AuthError::Malformed(_))
            ),
            "{candidate}"
        );
    }
    let not_json_payload = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode("hello"),
        parts[2]
    );
    assert!(validator.validate(&not_json_payload).await.is_err());
}

#[tokio::test]
async fn an_expired_token_is_expired_beyond_the_leeway_only() {
    let running = start_dev_issuer().await;
    let validator = running
        .validator(ValidatorConfig::new(running.issuer_url()).with_leeway(Duration::from_secs(30)))
        .await;
    let long_expired = with(
        running.claims(),
        json!({ "exp": now() - 120, "iat": now() - 500 }),
    );
    let token = running.sign_as_issuer(&long_expired).await;
    assert_eq!(validator.validate(&token).await, Err(AuthError::Expired));

    let just_expired = with(running.claims(), json!({ "exp": now() - 5 }));
    let token = running.sign_as_issuer(&just_expired).await;
    assert!(
        validator.validate(&token).await.is_ok(),
        "within the 30 s leeway"
    );

    let without_exp = with(running.claims(), json!({ "exp": null }));
    let token = running.sign_as_issuer(&without_exp).await;
    assert!(matches!(
        validator.validate(&token).await,
        Err(AuthError::Malformed(_))
    ));
}

#[tokio::test]
async fn a_leeway_above_a_minute_is_clamped() {
    let running = start_dev_issuer().await;
    let validator = running
        .validator(
            ValidatorConfig::new(running.issuer_url()).with_leeway(Duration::from_secs(3600)),
        )
        .await;
    let expired = with(running.claims(), json!({ "exp": now() - 120 }));
    let token = running.sign_as_issuer(&expired).await;
    assert_eq!(validator.validate(&token).await, Err(AuthError::Expired));
}

#[tokio::test]
async fn a_token_from_the_future_is_not_yet_valid() {
    let running = start_dev_issuer().await;
    let validator = running.default_validator().await;
    let future = with(
        running.claims(),
        json!({ "nbf": now() + 600, "exp": now() + 900 }),
    );
    let token = running.sign_as_issuer(&future).await;
    assert_eq!(
        validator.validate(&token).await,
        Err(AuthError::NotYetValid)
    );
}

#[tokio::test]
async fn another_issuer_or_no_issuer_is_the_wrong_issuer() {
    let running = start_dev_issuer().await;
    let validator = running.default_validator().await;
    for iss in [
        json!("http://evil.example/realms/orderflow"),
        json!(format!("{}/", running.issuer_url())),
        Value::Null,
    ] {
        let token = running
            .sign_as_issuer(&with(running.claims(), json!({ "iss": iss })))
            .await;
        assert_eq!(
            validator.validate(&token).await,
            Err(AuthError::WrongIssuer),
            "{iss}"
        );
    }
    let issuer_array = with(
        running.claims(),
        json!({ "iss": [running.issuer_url(), "other"] }),
    );
    let token = running.sign_as_issuer(&issuer_array).await;
    assert!(validator.validate(&token).await.is_err());
}

#[tokio::test]
async fn the_audience_is_accepted_in_aud_or_azp_and_refused_otherwise() {
    let (running, token) = issuer_and_alice().await;
    let expecting_api = running
        .validator(ValidatorConfig::new(running.issuer_url()).with_audience("billing-api"))
        .await;
    assert_eq!(
        expecting_api.validate(&token).await,
        Err(AuthError::WrongAudience)
    );

    let expecting_web = running
        .validator(ValidatorConfig::new(running.issuer_url()).with_audience("orderflow-web"))
        .await;
    assert!(expecting_web.validate(&token).await.is_ok(), "via azp");

    let for_api = with(
        running.claims(),
        json!({ "aud": ["account", "billing-api"] }),
    );
    let token = running.sign_as_issuer(&for_api).await;
    assert!(
        expecting_api.validate(&token).await.is_ok(),
        "via aud array"
    );

    let no_aud_other_azp = with(running.claims(), json!({ "aud": null, "azp": "other" }));
    let token = running.sign_as_issuer(&no_aud_other_azp).await;
    assert_eq!(
        expecting_api.validate(&token).await,
        Err(AuthError::WrongAudience)
    );
}

#[tokio::test]
async fn roles_come_from_one_clients_resource_access_when_configured() {
    let running = start_dev_issuer().await;
    let validator = running
        .validator(ValidatorConfig::new(running.issuer_url()).with_client_roles_from("billing-api"))
        .await;
    let claims = with(
        running.claims(),
        json!({ "resource_access": {
            "billing-api": { "roles": ["admin", "auditor"] },
            "account": { "roles": ["manage-account"] }
        } }),
    );
    let principal = validator
        .validate(&running.sign_as_issuer(&claims).await)
        .await
        .unwrap();
    assert_eq!(
        principal.roles,
        BTreeSet::from(["admin".to_owned(), "auditor".to_owned()])
    );
    assert!(principal.is_admin() && !principal.is_buyer());

    let without_client_roles = running.sign_as_issuer(&running.claims()).await;
    let principal = validator.validate(&without_client_roles).await.unwrap();
    assert!(principal.roles.is_empty(), "realm roles are not used then");
}

#[tokio::test]
async fn a_tampered_payload_fails_the_signature() {
    let (running, token) = issuer_and_alice().await;
    let validator = running.default_validator().await;
    let parts: Vec<&str> = token.split('.').collect();
    let mut claims = token_part(&token, 1);
    claims["realm_access"]["roles"] = json!(["admin"]);
    let tampered = format!("{}.{}.{}", parts[0], encode_part(&claims), parts[2]);
    assert_eq!(
        validator.validate(&tampered).await,
        Err(AuthError::BadSignature)
    );
}

#[tokio::test]
async fn a_token_signed_by_another_key_under_the_issuers_kid_fails_the_signature() {
    let running = start_dev_issuer().await;
    let validator = running.default_validator().await;
    let forged = jsonwebtoken::encode(
        &running.issuer_header(),
        &running.claims(),
        &foreign_key().encoding_key,
    )
    .unwrap();
    assert_eq!(
        validator.validate(&forged).await,
        Err(AuthError::BadSignature)
    );
}

#[tokio::test]
async fn alg_none_is_refused() {
    let running = start_dev_issuer().await;
    let validator = running.default_validator().await;
    let payload = encode_part(&running.claims());
    for header in [
        json!({ "alg": "none", "typ": "JWT" }),
        json!({ "alg": "none", "kid": running.issuer.key_id() }),
        json!({ "alg": "NONE" }),
    ] {
        let header = encode_part(&header);
        for signature in ["", "c2lnbmF0dXJl"] {
            let token = format!("{header}.{payload}.{signature}");
            assert_eq!(
                validator.validate(&token).await,
                Err(AuthError::UnsupportedAlgorithm)
            );
        }
    }
}

#[tokio::test]
async fn hs256_keyed_with_the_issuers_public_key_is_refused() {
    let running = start_dev_issuer().await;
    let validator = running.default_validator().await;
    let jwks_url = format!("{}/protocol/openid-connect/certs", running.issuer_url());
    let jwks: Value = running
        .http
        .get(jwks_url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let n = URL_SAFE_NO_PAD
        .decode(jwks["keys"][0]["n"].as_str().unwrap())
        .unwrap();
    let e = URL_SAFE_NO_PAD
        .decode(jwks["keys"][0]["e"].as_str().unwrap())
        .unwrap();
    let public_key =
        RsaPublicKey::new(BigUint::from_bytes_be(&n), BigUint::from_bytes_be(&e)).unwrap();
    let secrets: Vec<Vec<u8>> = vec![
        public_key
            .to_public_key_pem(LineEnding::LF)
            .unwrap()
            .into_bytes(),
        public_key
            .to_pkcs1_pem(LineEnding::LF)
            .unwrap()
            .into_bytes(),
        public_key.to_public_key_der().unwrap().as_bytes().to_vec(),
        public_key.to_pkcs1_der().unwrap().as_bytes().to_vec(),
        n.clone(),
        jwks["keys"][0]["n"].as_str().unwrap().as_bytes().to_vec(),
    ];
    for algorithm in [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512] {
        for secret in &secrets {
            let mut header = Header::new(algorithm);
            header.kid = Some(running.issuer.key_id().to_owned());
            let token = jsonwebtoken::encode(
                &header,
                &running.claims(),
                &EncodingKey::from_secret(secret),
            )
            .unwrap();
            assert_eq!(
                validator.validate(&token).await,
                Err(AuthError::UnsupportedAlgorithm)
            );
        }
    }
}

#[tokio::test]
async fn an_algorithm_the_key_does_not_allow_is_refused() {
    let running = start_dev_issuer().await;
    let validator = running.default_validator().await;
    let pem = std::fs::read(orderflow_auth::DevIssuer::signing_key_path(
        crate::support::shared_data_dir().await,
    ))
    .unwrap();
    let mut header = Header::new(Algorithm::PS256);
    header.kid = Some(running.issuer.key_id().to_owned());
    let token = jsonwebtoken::encode(
        &header,
        &running.claims(),
        &EncodingKey::from_rsa_pem(&pem).unwrap(),
    )
    .unwrap();
    assert_eq!(
        validator.validate(&token).await,
        Err(AuthError::UnsupportedAlgorithm),
        "the jwk says RS256"
    );
}

#[tokio::test]
async fn an_unknown_kid_is_an_unknown_key() {
    let running = start_dev_issuer().await;
    let validator = running.default_validator().await;
    let mut header = running.issuer_header();
    header.kid = Some("no-such-key".into());
    let token =
        jsonwebtoken::encode(&header, &running.claims(), &foreign_key().encoding_key).unwrap();
    assert_eq!(validator.validate(&token).await, Err(AuthError::UnknownKey));
}

#[tokio::test]
async fn id_and_other_non_access_tokens_are_the_wrong_type() {
    let running = start_dev_issuer().await;
    let validator = running.default_validator().await;
    for typ in ["ID", "Refresh", "Logout"] {
        let claims = with(
            running.claims(),
            json!({ "typ": typ, "aud": "orderflow-web" }),
        );
        let token = running.sign_as_issuer(&claims).await;
        assert_eq!(
            validator.validate(&token).await,
            Err(AuthError::WrongTokenType),
            "{typ}"
        );
    }
    let lowercase_bearer = with(running.claims(), json!({ "typ": "bearer" }));
    assert!(
        validator
            .validate(&running.sign_as_issuer(&lowercase_bearer).await)
            .await
            .is_ok()
    );

    let mut header = running.issuer_header();
    header.typ = Some("logout+jwt".into());
    let pem = std::fs::read(orderflow_auth::DevIssuer::signing_key_path(
        crate::support::shared_data_dir().await,
    ))
    .unwrap();
    let token = jsonwebtoken::encode(
        &header,
        &running.claims(),
        &EncodingKey::from_rsa_pem(&pem).unwrap(),
    )
    .unwrap();
    assert_eq!(
        validator.validate(&token).await,
        Err(AuthError::WrongTokenType)
    );
}

#[tokio::test]
async fn a_token_without_a_subject_is_refused() {
    let running = start_dev_issuer().await;
    let validator = running.default_validator().await;
    for sub in [Value::Null, json!(""), json!("  ")] {
        let token = running
            .sign_as_issuer(&with(running.claims(), json!({ "sub": sub })))
            .await;
        assert_eq!(
            validator.validate(&token).await,
            Err(AuthError::MissingSubject),
            "{sub}"
        );
    }
}

#[tokio::test]
async fn a_verified_token_is_served_from_the_cache_until_it_expires() {
    let running = start_dev_issuer().await;
    let validator = running
        .validator(ValidatorConfig::new(running.issuer_url()).with_leeway(Duration::ZERO))
        .await;
    let short_lived = with(running.claims(), json!({ "exp": now() + 2 }));
    let token = running.sign_as_issuer(&short_lived).await;
    let first = validator.validate(&token).await.unwrap();
    let second = validator.validate(&token).await.unwrap();
    assert_eq!(first, second);

    tokio::time::sleep(Duration::from_millis(3100)).await;
    assert_eq!(validator.validate(&token).await, Err(AuthError::Expired));
}

#[tokio::test]
async fn the_dev_issuer_mints_the_audience_services_require_and_iat_is_not_in_the_future() {
    let (running, token) = issuer_and_alice().await;
    let expecting_dev_audience = running
        .validator(ValidatorConfig::new(running.issuer_url()).with_audience(DEV_AUDIENCE))
        .await;
    assert!(expecting_dev_audience.validate(&token).await.is_ok());

    let from_the_future = with(running.claims(), json!({ "iat": now() + 600 }));
    let token = running.sign_as_issuer(&from_the_future).await;
    assert_eq!(
        expecting_dev_audience.validate(&token).await,
        Err(AuthError::IssuedInTheFuture)
    );
}
