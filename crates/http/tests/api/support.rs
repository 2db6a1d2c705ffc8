//! The whole orders API on a real listener (port 0), with the dev issuer on the same listener
//! and validated through HTTP discovery like any provider: no back door.
//!
//! Each [`TestApp`] has its own temp dir, its own event store (a SQLite file, or a fresh
//! PostgreSQL database dropped afterwards) and its own dev issuer; only the issuer's RSA key is
//! generated once per test binary and copied in, because generating it is slow.

use std::sync::{Arc, OnceLock};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use orderflow_app::ports::{
    AppendOutcome, EventStore, EventStoreError, ExpectedRevision, NewEvent, Position,
    RecordedEvent, StreamName,
};
use orderflow_auth::{
    DEV_AUDIENCE, DevIssuer, TokenValidator, ValidatorConfig, default_http_client,
};
use orderflow_http::{OrdersApi, orders_router};
use orderflow_store::SqliteEventStore;
use orderflow_store::postgres::{PostgresEventStore, PostgresOptions};
use orderflow_testkit::TestDatabase;
use reqwest::header::HeaderMap;
use rsa::pkcs8::{EncodePrivateKey, LineEnding};
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::net::TcpListener;

/// The order of the contract: 2 × 12.50 EUR = 25.00.
pub(crate) fn coffee_order() -> Value {
    json!({
        "currency": "EUR",
        "items": [{ "sku": "SKU-1", "name": "Coffee beans", "quantity": 2, "unitPrice": "12.50" }]
    })
}

/// The dev issuer's private key (PKCS#8 PEM), generated once for this test binary.
async fn issuer_key_pem() -> &'static str {
    static PEM: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    PEM.get_or_init(|| async {
        let dir = tempfile::tempdir().unwrap();
        DevIssuer::load_or_create(
            dir.path(),
            "http://127.0.0.1:1/realms/orderflow".into(),
            None,
        )
        .await
        .unwrap();
        std::fs::read_to_string(DevIssuer::signing_key_path(dir.path())).unwrap()
    })
    .await
}

/// Another RSA key, unknown to the issuer.
pub(crate) fn foreign_key() -> &'static EncodingKey {
    static KEY: OnceLock<EncodingKey> = OnceLock::new();
    KEY.get_or_init(|| {
        let key = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).unwrap();
        let pem = key.to_pkcs8_pem(LineEnding::LF).unwrap();
        EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap()
    })
}

/// What one HTTP exchange answered.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Value,
}

impl Answer {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    /// Asserts a problem+json answer with `status`; returns its body.
    pub(crate) fn assert_problem(&self, status: u16) -> &Value {
        assert_eq!(self.status, status, "{self:?}");
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "{self:?}"
        );
        for member in ["type", "title", "status", "detail", "code"] {
            assert!(self.body.get(member).is_some(), "no `{member}` in {self:?}");
        }
        assert_eq!(self.body["status"], status);
        &self.body
    }

    /// The order id of an order answer.
    pub(crate) fn order_id(&self) -> String {
        self.body["id"].as_str().unwrap().to_owned()
    }
}

/// Which event store a [`TestApp`] runs on.
enum Backend {
    Sqlite,
    Postgres,
    /// A store whose database is down: every call fails with `Unavailable`.
    Down,
}

/// An event store whose database is unreachable.
struct DownStore {
    head: tokio::sync::watch::Sender<Position>,
}

fn database_down() -> EventStoreError {
    EventStoreError::Unavailable("connection refused (test)".into())
}

#[async_trait::async_trait]
impl EventStore for DownStore {
    async fn append(
        &self,
        _: &StreamName,
        _: ExpectedRevision,
        _: Vec<NewEvent>,
    ) -> Result<AppendOutcome, EventStoreError> {
        Err(database_down())
    }

    async fn read_stream(
        &self,
        _: &StreamName,
        _: u64,
        _: usize,
    ) -> Result<Vec<RecordedEvent>, EventStoreError> {
        Err(database_down())
    }

    async fn read_all(&self, _: Position, _: usize) -> Result<Vec<RecordedEvent>, EventStoreError> {
        Err(database_down())
    }

    async fn head(&self) -> Result<Position, EventStoreError> {
        Err(database_down())
    }

    fn watch_head(&self) -> tokio::sync::watch::Receiver<Position> {
        self.head.subscribe()
    }
}

/// The orders API and the dev issuer on one listener.
pub(crate) struct TestApp {
    pub(crate) base_url: String,
    pub(crate) http: reqwest::Client,
    pub(crate) issuer: DevIssuer,
    pub(crate) store: Arc<dyn EventStore>,
    _data_dir: TempDir,
    // Dropped after the store handle above, so the database goes last.
    _database: Option<TestDatabase>,
}

impl TestApp {
    /// On SQLite, trusting the issuer and requiring its audience, like a service.
    pub(crate) async fn spawn() -> TestApp {
        Self::spawn_with(Backend::Sqlite, |config| config).await
    }

    /// On SQLite, with a tuned validator configuration (e.g. an audience).
    pub(crate) async fn spawn_with_validator(
        configure: impl FnOnce(ValidatorConfig) -> ValidatorConfig,
    ) -> TestApp {
        Self::spawn_with(Backend::Sqlite, configure).await
    }

    /// On an event store whose database is down.
    pub(crate) async fn spawn_with_the_database_down() -> TestApp {
        Self::spawn_with(Backend::Down, |config| config).await
    }

    /// On a fresh PostgreSQL database (fails loudly when the server is unreachable).
    pub(crate) async fn spawn_on_postgres() -> TestApp {
        Self::spawn_with(Backend::Postgres, |config| config).await
    }

    async fn spawn_with(
        backend: Backend,
        configure: impl FnOnce(ValidatorConfig) -> ValidatorConfig,
    ) -> TestApp {
        let data_dir = tempfile::tempdir().unwrap();
        let key_path = DevIssuer::signing_key_path(data_dir.path());
        std::fs::create_dir_all(key_path.parent().unwrap()).unwrap();
        std::fs::write(&key_path, issuer_key_pem().await).unwrap();

        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let issuer_url = DevIssuer::issuer_url_for_base(&base_url);
        let issuer = DevIssuer::load_or_create(data_dir.path(), issuer_url.clone(), None)
            .await
            .unwrap();

        let (store, database): (Arc<dyn EventStore>, _) = match backend {
            Backend::Sqlite => {
                let path = data_dir.path().join("events.sqlite");
                (Arc::new(SqliteEventStore::open(path).await.unwrap()), None)
            }
            Backend::Postgres => {
                let database = TestDatabase::create().await;
                let options = PostgresOptions {
                    max_connections: 8,
                    ..PostgresOptions::default()
                };
                let store = PostgresEventStore::connect(database.url(), options)
                    .await
                    .unwrap();
                (Arc::new(store), Some(database))
            }
            Backend::Down => {
                let (head, _) = tokio::sync::watch::channel(Position::START);
                (Arc::new(DownStore { head }), None)
            }
        };

        let http = default_http_client().unwrap();
        // Lazy: the validator discovers the issuer over HTTP on first use, from this very
        // listener. Like the services trusting the dev issuer, it requires its audience.
        let config = ValidatorConfig::new(issuer_url).with_audience(DEV_AUDIENCE);
        let validator = TokenValidator::lazy(configure(config), http.clone());
        let api = OrdersApi::new(store.clone(), validator);
        let router = issuer.router().merge(orders_router(api));
        let limits = orderflow_http::ConnectionLimits::default();
        tokio::spawn(orderflow_http::serve(
            listener,
            router,
            limits,
            std::future::pending(),
        ));

        TestApp {
            base_url,
            http,
            issuer,
            store,
            _data_dir: data_dir,
            _database: database,
        }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// An access token by the password grant of `orderflow-web` (password = user name).
    pub(crate) async fn token(&self, user: &str) -> String {
        let form = form_urlencoded::Serializer::new(String::new())
            .extend_pairs([
                ("grant_type", "password"),
                ("client_id", "orderflow-web"),
                ("username", user),
                ("password", user),
            ])
            .finish();
        let response = self
            .http
            .post(self.url("/realms/orderflow/protocol/openid-connect/token"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        body["access_token"].as_str().unwrap().to_owned()
    }

    /// Sends a request built by `build` and reads the answer, which must be
    /// what `openapi.json` documents ([`crate::openapi::assert_conforms`]).
    pub(crate) async fn send(&self, request: reqwest::RequestBuilder) -> Answer {
        let request = request.build().unwrap();
        let method = request.method().as_str().to_owned();
        let path = request.url().path().to_owned();
        let response = self.http.execute(request).await.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.unwrap();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        let answer = Answer {
            status,
            headers,
            body,
        };
        crate::openapi::assert_conforms(&method, &path, &answer);
        answer
    }

    pub(crate) async fn get(&self, path: &str, token: &str) -> Answer {
        self.send(self.http.get(self.url(path)).bearer_auth(token))
            .await
    }

    pub(crate) async fn post_json(&self, path: &str, token: &str, body: &Value) -> Answer {
        self.send(self.http.post(self.url(path)).bearer_auth(token).json(body))
            .await
    }

    /// `POST` without a body.
    pub(crate) async fn post_empty(&self, path: &str, token: &str) -> Answer {
        self.send(self.http.post(self.url(path)).bearer_auth(token))
            .await
    }

    /// Places the contract's order as `user`; asserts it was created.
    pub(crate) async fn place_order(&self, user: &str) -> String {
        let token = self.token(user).await;
        let answer = self.post_json("/orders", &token, &coffee_order()).await;
        assert_eq!(answer.status, 201, "{answer:?}");
        answer.order_id()
    }

    /// The number of events in an order's stream.
    pub(crate) async fn stream_length(&self, order_id: &str) -> usize {
        let stream = StreamName::parse(format!("order-{order_id}")).unwrap();
        self.store
            .read_stream(&stream, 0, 1_000)
            .await
            .unwrap()
            .len()
    }

    /// Claims of a genuine access token of `user`, to forge variants from.
    pub(crate) async fn claims_of(&self, user: &str) -> Value {
        let token = self.token(user).await;
        let payload = token.split('.').nth(1).unwrap();
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
    }

    /// An RS256 header naming the issuer's key.
    pub(crate) fn issuer_header(&self) -> Header {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(self.issuer.key_id().to_owned());
        header.typ = Some("JWT".into());
        header
    }

    /// Signs `claims` with the issuer's own key under `header`.
    pub(crate) async fn sign_as_issuer(&self, header: &Header, claims: &Value) -> String {
        let key = EncodingKey::from_rsa_pem(issuer_key_pem().await.as_bytes()).unwrap();
        jsonwebtoken::encode(header, claims, &key).unwrap()
    }
}

/// `claims` with `changes` applied (a null removes the claim).
pub(crate) fn with(mut claims: Value, changes: Value) -> Value {
    for (name, value) in changes.as_object().unwrap() {
        if value.is_null() {
            claims.as_object_mut().unwrap().remove(name);
        } else {
            claims[name] = value.clone();
        }
    }
    claims
}

/// Base64url of a JSON value, as a token part.
pub(crate) fn encode_part(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap())
}

/// Now, in seconds since the epoch.
pub(crate) fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}
