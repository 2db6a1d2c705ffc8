//! Shared fixtures: one dev-issuer key per test binary, one foreign RSA key, servers on port
//! 0, and helpers that forge tokens with chosen claims.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use axum::Router;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use orderflow_auth::{DevIssuer, TokenValidator, ValidatorConfig, default_http_client};
use rsa::pkcs8::{EncodePrivateKey, LineEnding};
use rsa::traits::PublicKeyParts;
use serde_json::{Value, json};
use time::OffsetDateTime;
use tokio::net::TcpListener;

/// A data dir whose dev-issuer key was generated once for this test binary (RSA key
/// generation is slow in debug builds).
pub(crate) async fn shared_data_dir() -> &'static Path {
    static DATA_DIR: tokio::sync::OnceCell<PathBuf> = tokio::sync::OnceCell::const_new();
    DATA_DIR
        .get_or_init(|| async {
            let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
                .join(format!("orderflow-auth-{}", uuid::Uuid::new_v4()));
            DevIssuer::load_or_create(&dir, "http://127.0.0.1:1/realms/orderflow".into(), None)
                .await
                .unwrap();
            dir
        })
        .await
}

/// A second RSA key, unknown to the dev issuer.
pub(crate) struct ForeignKey {
    pub(crate) encoding_key: EncodingKey,
    pub(crate) n: String,
    pub(crate) e: String,
}

pub(crate) fn foreign_key() -> &'static ForeignKey {
    static KEY: OnceLock<ForeignKey> = OnceLock::new();
    KEY.get_or_init(|| {
        let key = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).unwrap();
        let pem = key.to_pkcs8_pem(LineEnding::LF).unwrap();
        ForeignKey {
            encoding_key: EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap(),
            n: URL_SAFE_NO_PAD.encode(key.n().to_bytes_be()),
            e: URL_SAFE_NO_PAD.encode(key.e().to_bytes_be()),
        }
    })
}

impl ForeignKey {
    /// This key as a JWKS entry.
    pub(crate) fn jwk(&self, kid: &str, usage: &str) -> Value {
        json!({ "kid": kid, "kty": "RSA", "alg": "RS256", "use": usage, "n": self.n, "e": self.e })
    }
}

/// Serves `router` on 127.0.0.1 with an OS-chosen port.
pub(crate) async fn serve(router: Router) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    address
}

/// The dev issuer, running on its own port, with the shared key.
pub(crate) struct RunningIssuer {
    pub(crate) issuer: DevIssuer,
    pub(crate) base_url: String,
    pub(crate) http: reqwest::Client,
}

pub(crate) async fn start_dev_issuer() -> RunningIssuer {
    start_dev_issuer_with(|issuer| issuer).await
}

/// The dev issuer as `configure` makes it, served as the binary serves it: each request
/// knows its peer's address.
pub(crate) async fn start_dev_issuer_with(
    configure: impl FnOnce(DevIssuer) -> DevIssuer,
) -> RunningIssuer {
    let data_dir = shared_data_dir().await;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base_url = format!("http://{}", listener.local_addr().unwrap());
    let issuer = configure(
        DevIssuer::load_or_create(data_dir, DevIssuer::issuer_url_for_base(&base_url), None)
            .await
            .unwrap(),
    );
    let router = issuer.router();
    tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
    });
    RunningIssuer {
        issuer,
        base_url,
        http: default_http_client().unwrap(),
    }
}

impl RunningIssuer {
    pub(crate) fn issuer_url(&self) -> String {
        self.issuer.issuer_url().to_owned()
    }

    pub(crate) fn token_endpoint(&self) -> String {
        format!("{}/protocol/openid-connect/token", self.issuer_url())
    }

    /// POSTs a form to the token endpoint; returns the status and the JSON body.
    pub(crate) async fn token_request(&self, form: &[(&str, &str)]) -> (u16, Value) {
        self.token_request_with_headers(form, &[]).await
    }

    /// [`Self::token_request`] with extra request headers.
    pub(crate) async fn token_request_with_headers(
        &self,
        form: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> (u16, Value) {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let mut request = self
            .http
            .post(self.token_endpoint())
            .header("content-type", "application/x-www-form-urlencoded");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.body(body).send().await.unwrap();
        (response.status().as_u16(), response.json().await.unwrap())
    }

    /// The password grant for `orderflow-web`: status and body.
    pub(crate) async fn password_grant(&self, username: &str, password: &str) -> (u16, Value) {
        self.token_request(&[
            ("grant_type", "password"),
            ("client_id", "orderflow-web"),
            ("username", username),
            ("password", password),
        ])
        .await
    }

    /// The password grant for `orderflow-web` through a proxy that says the client is
    /// `forwarded_for` (`X-Forwarded-For`).
    pub(crate) async fn password_grant_forwarded(
        &self,
        username: &str,
        password: &str,
        forwarded_for: &str,
    ) -> (u16, Value) {
        self.token_request_with_headers(
            &[
                ("grant_type", "password"),
                ("client_id", "orderflow-web"),
                ("username", username),
                ("password", password),
            ],
            &[("x-forwarded-for", forwarded_for)],
        )
        .await
    }

    /// The refresh-token grant for `orderflow-web`: status and body.
    pub(crate) async fn refresh_grant(&self, refresh_token: &str) -> (u16, Value) {
        self.token_request(&[
            ("grant_type", "refresh_token"),
            ("client_id", "orderflow-web"),
            ("refresh_token", refresh_token),
        ])
        .await
    }

    /// A password-grant access token.
    pub(crate) async fn password_token(&self, username: &str, password: &str) -> String {
        let (status, body) = self
            .token_request(&[
                ("grant_type", "password"),
                ("client_id", "orderflow-web"),
                ("username", username),
                ("password", password),
            ])
            .await;
        assert_eq!(status, 200, "{body}");
        body["access_token"].as_str().unwrap().to_owned()
    }

    /// A validator that found this issuer by discovery.
    pub(crate) async fn validator(&self, config: ValidatorConfig) -> TokenValidator {
        TokenValidator::discover(config, self.http.clone())
            .await
            .unwrap()
    }

    pub(crate) async fn default_validator(&self) -> TokenValidator {
        self.validator(ValidatorConfig::new(self.issuer_url()))
            .await
    }

    /// Keycloak-shaped access-token claims for alice, valid for five minutes.
    pub(crate) fn claims(&self) -> Value {
        let now = now();
        json!({
            "iss": self.issuer_url(),
            "sub": "5d1c1b8e-8f63-4c43-9d1f-0e8c5c1d2a11",
            "azp": "orderflow-web",
            "aud": "account",
            "exp": now + 300,
            "iat": now,
            "jti": uuid::Uuid::new_v4().to_string(),
            "typ": "Bearer",
            "preferred_username": "alice",
            "realm_access": { "roles": ["buyer"] },
            "scope": "openid profile email",
        })
    }

    /// Signs `claims` with the dev issuer's own key and kid.
    pub(crate) async fn sign_as_issuer(&self, claims: &Value) -> String {
        let pem = std::fs::read(DevIssuer::signing_key_path(shared_data_dir().await)).unwrap();
        let key = EncodingKey::from_rsa_pem(&pem).unwrap();
        jsonwebtoken::encode(&self.issuer_header(), claims, &key).unwrap()
    }

    /// An RS256 header naming the dev issuer's key.
    pub(crate) fn issuer_header(&self) -> Header {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(self.issuer.key_id().to_owned());
        header
    }
}

/// Now, in seconds since the epoch.
pub(crate) fn now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

/// The JSON of a token's header (0) or payload (1).
pub(crate) fn token_part(token: &str, index: usize) -> Value {
    let part = token.split('.').nth(index).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

/// Base64url of a JSON value, as a token part.
pub(crate) fn encode_part(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap())
}
