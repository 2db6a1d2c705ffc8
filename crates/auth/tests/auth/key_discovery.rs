//! Discovery and the JWKS cache against a scripted provider that counts its requests.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use jsonwebtoken::{Algorithm, Header};
use orderflow_auth::{AuthError, TokenValidator, ValidatorConfig, default_http_client};
use serde_json::{Value, json};

use crate::support::{foreign_key, now, serve};

/// An identity provider whose answers the test scripts.
struct ScriptedProvider {
    issuer: RwLock<String>,
    advertised_issuer: RwLock<Option<String>>,
    jwks: RwLock<Value>,
    healthy: AtomicBool,
    discovery_requests: AtomicUsize,
    jwks_requests: AtomicUsize,
}

impl ScriptedProvider {
    async fn start(jwks: Value) -> Arc<Self> {
        let provider = Arc::new(Self {
            issuer: RwLock::new(String::new()),
            advertised_issuer: RwLock::new(None),
            jwks: RwLock::new(jwks),
            healthy: AtomicBool::new(true),
            discovery_requests: AtomicUsize::new(0),
            jwks_requests: AtomicUsize::new(0),
        });
        let router = Router::new()
            .route("/realm/.well-known/openid-configuration", get(discovery))
            .route("/realm/keys", get(keys))
            .with_state(Arc::clone(&provider));
        let address = serve(router).await;
        *provider.issuer.write().unwrap() = format!("http://{address}/realm");
        provider
    }

    fn issuer(&self) -> String {
        self.issuer.read().unwrap().clone()
    }

    fn config(&self) -> ValidatorConfig {
        ValidatorConfig::new(self.issuer()).with_jwks_refresh_min_interval(Duration::from_secs(60))
    }

    async fn validator(&self) -> TokenValidator {
        TokenValidator::discover(self.config(), default_http_client().unwrap())
            .await
            .unwrap()
    }

    fn jwks_requests(&self) -> usize {
        self.jwks_requests.load(Ordering::SeqCst)
    }

    /// A token signed by the foreign key, naming `kid`.
    fn token(&self, kid: &str) -> String {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(kid.to_owned());
        let claims = json!({
            "iss": self.issuer(), "sub": "user-1", "exp": now() + 300, "iat": now(),
            "typ": "Bearer", "azp": "orderflow-web", "realm_access": { "roles": ["buyer"] },
            "jti": uuid::Uuid::new_v4().to_string(),
        });
        jsonwebtoken::encode(&header, &claims, &foreign_key().encoding_key).unwrap()
    }
}

async fn discovery(State(provider): State<Arc<ScriptedProvider>>) -> Response {
    provider.discovery_requests.fetch_add(1, Ordering::SeqCst);
    if !provider.healthy.load(Ordering::SeqCst) {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    let issuer = provider.issuer();
    let advertised = provider.advertised_issuer.read().unwrap().clone();
    axum::Json(json!({
        "issuer": advertised.unwrap_or_else(|| issuer.clone()),
        "jwks_uri": format!("{issuer}/keys"),
    }))
    .into_response()
}

async fn keys(State(provider): State<Arc<ScriptedProvider>>) -> Response {
    provider.jwks_requests.fetch_add(1, Ordering::SeqCst);
    axum::Json(provider.jwks.read().unwrap().clone()).into_response()
}

#[tokio::test]
async fn an_encryption_key_is_never_used_to_verify_signatures() {
    let key = foreign_key();
    let mut encryption_key = key.jwk("enc-1", "enc");
    encryption_key["alg"] = json!("RSA-OAEP");
    let provider =
        ScriptedProvider::start(json!({ "keys": [encryption_key, key.jwk("sig-1", "sig")] })).await;
    let validator = provider.validator().await;
    assert_eq!(
        validator.validate(&provider.token("enc-1")).await,
        Err(AuthError::UnknownKey)
    );
    assert!(validator.validate(&provider.token("sig-1")).await.is_ok());
}

#[tokio::test]
async fn a_flood_of_unknown_kids_causes_at_most_one_jwks_refetch() {
    let provider =
        ScriptedProvider::start(json!({ "keys": [foreign_key().jwk("k1", "sig")] })).await;
    let validator = provider.validator().await;
    assert_eq!(provider.jwks_requests(), 1);

    let mut concurrent = tokio::task::JoinSet::new();
    for index in 0..50 {
        let (validator, token) = (
            validator.clone(),
            provider.token(&format!("made-up-{index}")),
        );
        concurrent.spawn(async move { validator.validate(&token).await });
    }
    while let Some(outcome) = concurrent.join_next().await {
        assert_eq!(outcome.unwrap(), Err(AuthError::UnknownKey));
    }
    for index in 0..20 {
        let token = provider.token(&format!("sequential-{index}"));
        assert_eq!(validator.validate(&token).await, Err(AuthError::UnknownKey));
    }
    assert!(
        provider.jwks_requests() <= 2,
        "{} jwks requests",
        provider.jwks_requests()
    );
    assert!(validator.validate(&provider.token("k1")).await.is_ok());
}

#[tokio::test]
async fn a_rotated_key_is_picked_up_on_the_first_miss_then_rate_limited() {
    let key = foreign_key();
    let provider = ScriptedProvider::start(json!({ "keys": [key.jwk("old", "sig")] })).await;
    let validator = provider.validator().await;

    *provider.jwks.write().unwrap() =
        json!({ "keys": [key.jwk("old", "sig"), key.jwk("new", "sig")] });
    assert!(validator.validate(&provider.token("new")).await.is_ok());
    assert_eq!(provider.jwks_requests(), 2);

    *provider.jwks.write().unwrap() = json!({ "keys": [key.jwk("newer", "sig")] });
    assert_eq!(
        validator.validate(&provider.token("newer")).await,
        Err(AuthError::UnknownKey)
    );
    assert_eq!(provider.jwks_requests(), 2, "within the refresh interval");
}

#[tokio::test]
async fn discovery_naming_another_issuer_is_refused() {
    let provider = ScriptedProvider::start(json!({ "keys": [] })).await;
    *provider.advertised_issuer.write().unwrap() = Some("http://impostor/realm".into());
    let outcome = TokenValidator::discover(provider.config(), default_http_client().unwrap()).await;
    let error = outcome.unwrap_err();
    assert!(
        matches!(error, AuthError::DiscoveryIssuerMismatch { .. }),
        "{error}"
    );
    assert!(!error.is_caller_fault());
}

#[tokio::test]
async fn a_service_may_start_before_its_identity_provider() {
    let provider =
        ScriptedProvider::start(json!({ "keys": [foreign_key().jwk("k1", "sig")] })).await;
    provider.healthy.store(false, Ordering::SeqCst);

    let eager = TokenValidator::discover(provider.config(), default_http_client().unwrap()).await;
    assert!(matches!(eager, Err(AuthError::ProviderUnavailable(_))));

    let validator = TokenValidator::lazy(provider.config(), default_http_client().unwrap());
    let token = provider.token("k1");
    let refused = validator.validate(&token).await.unwrap_err();
    assert!(matches!(refused, AuthError::ProviderUnavailable(_)));
    assert_eq!(refused.status_code().as_u16(), 503);
    let attempts = provider.discovery_requests.load(Ordering::SeqCst);
    assert!(matches!(
        validator.validate(&token).await,
        Err(AuthError::ProviderUnavailable(_))
    ));
    assert_eq!(
        provider.discovery_requests.load(Ordering::SeqCst),
        attempts,
        "retries are spaced"
    );

    provider.healthy.store(true, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let principal = validator.validate(&token).await.unwrap();
    assert_eq!(principal.user_id, "user-1");
}

#[tokio::test]
async fn a_verified_token_skips_key_lookup_until_it_expires() {
    let provider =
        ScriptedProvider::start(json!({ "keys": [foreign_key().jwk("k1", "sig")] })).await;
    let validator = provider.validator().await;
    let token = provider.token("k1");
    let first = validator.validate(&token).await.unwrap();

    // The provider drops the key; a miss makes the validator learn that.
    *provider.jwks.write().unwrap() = json!({ "keys": [] });
    assert_eq!(
        validator.validate(&provider.token("other")).await,
        Err(AuthError::UnknownKey)
    );
    assert_eq!(provider.jwks_requests(), 2);
    assert_eq!(
        validator.validate(&provider.token("k1")).await,
        Err(AuthError::UnknownKey)
    );

    // The already verified token is still served from the cache.
    assert_eq!(validator.validate(&token).await, Ok(first));
}
