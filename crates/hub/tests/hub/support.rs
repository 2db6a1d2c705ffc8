//! Shared fixtures: the hub and the dev issuer on one real listener (127.0.0.1, port 0), a
//! raw SignalR client over tokio-tungstenite for protocol edge cases, and HTTP helpers.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use orderflow_app::ports::PushInbox;
use orderflow_auth::dev_issuer::stable_user_id;
use orderflow_auth::{DevIssuer, TokenValidator, ValidatorConfig, default_http_client};
use orderflow_hub::{HubConfig, PushHub, hub_router};
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// The SignalR record separator.
pub(crate) const RS: char = '\u{1e}';

/// How long a test waits for something that should happen at once.
pub(crate) const PATIENCE: Duration = Duration::from_secs(10);

/// The dev issuer's stable user id for a demo username.
pub(crate) fn user_id(username: &str) -> String {
    stable_user_id(username).to_string()
}

/// A data dir whose dev-issuer key is generated once per test binary (RSA is slow).
async fn shared_data_dir() -> &'static Path {
    static DATA_DIR: tokio::sync::OnceCell<PathBuf> = tokio::sync::OnceCell::const_new();
    DATA_DIR
        .get_or_init(|| async {
            let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
                .join(format!("orderflow-hub-{}", uuid_like()));
            DevIssuer::load_or_create(&dir, "http://127.0.0.1:1/realms/orderflow".into(), None)
                .await
                .unwrap();
            dir
        })
        .await
}

fn uuid_like() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{}-{nanos}", std::process::id())
}

/// A hub and the dev issuer served together on one listener.
pub(crate) struct TestHub {
    pub(crate) hub: PushHub,
    pub(crate) address: SocketAddr,
    pub(crate) issuer: DevIssuer,
    validator: TokenValidator,
    config: HubConfig,
    inbox: Option<Arc<dyn PushInbox>>,
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
}

impl TestHub {
    pub(crate) async fn start() -> Self {
        Self::start_with(HubConfig::default()).await
    }

    pub(crate) async fn start_with(config: HubConfig) -> Self {
        Self::start_with_inbox(config, None).await
    }

    /// A hub keeping `inbox` (it survives [`Self::restart`], as a database would).
    pub(crate) async fn start_with_inbox(
        config: HubConfig,
        inbox: Option<Arc<dyn PushInbox>>,
    ) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let base_url = format!("http://{address}");
        let issuer = DevIssuer::load_or_create(
            shared_data_dir().await,
            DevIssuer::issuer_url_for_base(&base_url),
            None,
        )
        .await
        .unwrap();
        // A short leeway, so that the token-expiry test does not wait half a minute.
        let validator = TokenValidator::lazy(
            ValidatorConfig::new(issuer.issuer_url()).with_leeway(Duration::from_secs(1)),
            default_http_client().unwrap(),
        );
        let hub = build_hub(&validator, &config, inbox.as_ref());
        let mut running = Self {
            hub,
            address,
            issuer,
            validator,
            config,
            inbox,
            stop: None,
            server: None,
        };
        running.serve(listener);
        running
    }

    fn serve(&mut self, listener: TcpListener) {
        let router = self.issuer.router().merge(hub_router(self.hub.clone()));
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(async {
                    let _stopped = stop_rx.await;
                })
                .await
                .unwrap();
        });
        self.stop = Some(stop_tx);
        self.server = Some(server);
    }

    /// Shuts the hub down, stops serving, then serves a new hub on the same port.
    pub(crate) async fn restart(&mut self) {
        self.hub.shutdown().await;
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            tokio::time::timeout(PATIENCE, server)
                .await
                .expect("the server stops within the patience")
                .unwrap();
        }
        let listener = TcpListener::bind(self.address).await.unwrap();
        self.hub = build_hub(&self.validator, &self.config, self.inbox.as_ref());
        self.serve(listener);
    }

    pub(crate) fn base_url(&self) -> String {
        format!("http://{}", self.address)
    }

    pub(crate) fn hub_url(&self) -> String {
        format!("{}/hubs/push-updates", self.base_url())
    }

    /// An access token of a demo user.
    pub(crate) fn token(&self, username: &str) -> String {
        self.issuer.issue_for_user(username).unwrap().access_token
    }

    /// POST …/negotiate with `query` and an optional bearer token.
    pub(crate) async fn negotiate(&self, query: &str, token: Option<&str>) -> reqwest::Response {
        let mut request = http()
            .post(format!("{}/negotiate{query}", self.hub_url()))
            .body("");
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.unwrap()
    }

    /// Negotiates (version 1) and returns the connection token.
    pub(crate) async fn negotiate_token(&self, token: &str) -> String {
        let response = self.negotiate("?negotiateVersion=1", Some(token)).await;
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        body["connectionToken"].as_str().unwrap().to_owned()
    }

    /// Opens a WebSocket to the hub path with `query` (e.g. `?id=…`) and an optional bearer.
    pub(crate) async fn open_socket(
        &self,
        query: &str,
        bearer: Option<&str>,
    ) -> Result<RawSocket, tungstenite::Error> {
        let url = format!("ws://{}/hubs/push-updates{query}", self.address);
        let mut request = url.into_client_request().unwrap();
        if let Some(token) = bearer {
            request
                .headers_mut()
                .insert("authorization", format!("Bearer {token}").parse().unwrap());
        }
        tokio_tungstenite::connect_async(request)
            .await
            .map(|(socket, _response)| socket)
    }

    /// A client of `username` that negotiated (v1), connected and completed the handshake.
    pub(crate) async fn client(&self, username: &str) -> HubClient {
        let token = self.token(username);
        let connection_token = self.negotiate_token(&token).await;
        let socket = self
            .open_socket(&format!("?id={connection_token}"), Some(&token))
            .await
            .unwrap();
        let mut client = HubClient::new(socket);
        client.handshake().await;
        client
    }
}

fn build_hub(
    validator: &TokenValidator,
    config: &HubConfig,
    inbox: Option<&Arc<dyn PushInbox>>,
) -> PushHub {
    match inbox {
        Some(inbox) => PushHub::with_inbox(validator.clone(), config.clone(), inbox.clone()),
        None => PushHub::new(validator.clone(), config.clone()),
    }
}

/// The HTTP status of a refused WebSocket upgrade.
pub(crate) fn refused_status(result: Result<RawSocket, tungstenite::Error>) -> u16 {
    match result {
        Err(tungstenite::Error::Http(response)) => response.status().as_u16(),
        Err(other) => panic!("expected an HTTP refusal, got {other}"),
        Ok(_) => panic!("expected an HTTP refusal, the upgrade succeeded"),
    }
}

pub(crate) fn http() -> reqwest::Client {
    default_http_client().unwrap()
}

pub(crate) type RawSocket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A raw SignalR client: frames in, JSON records out.
pub(crate) struct HubClient {
    pub(crate) socket: RawSocket,
    received: VecDeque<Value>,
}

/// What the raw client saw next.
#[derive(Debug)]
pub(crate) enum Received {
    Record(Value),
    /// A WebSocket close frame, or the end of the stream.
    SocketClosed,
}

impl HubClient {
    pub(crate) fn new(socket: RawSocket) -> Self {
        Self {
            socket,
            received: VecDeque::new(),
        }
    }

    pub(crate) async fn send_text(&mut self, text: &str) {
        self.socket
            .send(Message::text(text.to_owned()))
            .await
            .unwrap();
    }

    pub(crate) async fn send_record(&mut self, record: Value) {
        self.send_text(&format!("{record}{RS}")).await;
    }

    /// Sends the JSON handshake and expects the empty answer.
    pub(crate) async fn handshake(&mut self) {
        self.send_record(json!({"protocol": "json", "version": 1}))
            .await;
        match self.next().await {
            Received::Record(answer) => assert_eq!(answer, json!({}), "handshake answer"),
            Received::SocketClosed => panic!("the socket closed instead of the handshake answer"),
        }
    }

    /// The next record or the end of the socket, within [`PATIENCE`].
    pub(crate) async fn next(&mut self) -> Received {
        self.next_within(PATIENCE)
            .await
            .expect("something arrives within the patience")
    }

    /// The next record or the end of the socket; `None` when nothing came within `wait`.
    pub(crate) async fn next_within(&mut self, wait: Duration) -> Option<Received> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if let Some(record) = self.received.pop_front() {
                return Some(Received::Record(record));
            }
            let frame = match tokio::time::timeout_at(deadline, self.socket.next()).await {
                Err(_elapsed) => return None,
                Ok(None | Some(Err(_))) => return Some(Received::SocketClosed),
                Ok(Some(Ok(frame))) => frame,
            };
            match frame {
                Message::Text(text) => {
                    for record in text.as_str().split_terminator(RS) {
                        self.received
                            .push_back(serde_json::from_str(record).unwrap_or_else(|error| {
                                panic!("the hub sent invalid JSON {record:?}: {error}")
                            }));
                    }
                }
                Message::Close(_) => return Some(Received::SocketClosed),
                Message::Binary(_) => panic!("the hub sent a binary frame"),
                _ => {}
            }
        }
    }

    /// The next record that is not a Ping.
    pub(crate) async fn next_message(&mut self) -> Value {
        loop {
            match self.next().await {
                Received::Record(record) if record["type"] == 6 => continue,
                Received::Record(record) => return record,
                Received::SocketClosed => panic!("the socket closed while a message was expected"),
            }
        }
    }

    /// Skips pings until a Close message arrives, returns it, and checks the socket then ends.
    pub(crate) async fn expect_close_message(&mut self) -> Value {
        let close = self.next_message().await;
        assert_eq!(close["type"], 7, "expected a Close message, got {close}");
        match self.next().await {
            Received::SocketClosed => close,
            Received::Record(record) => panic!("a record after the Close message: {record}"),
        }
    }

    /// Skips invocations and pings until a Close message arrives, returns it, and checks the
    /// socket then ends.
    pub(crate) async fn expect_close_message_after_pushes(&mut self) -> Value {
        loop {
            let message = self.next_message().await;
            if message["type"] == 1 {
                continue;
            }
            assert_eq!(
                message["type"], 7,
                "expected a Close message, got {message}"
            );
            match self.next().await {
                Received::SocketClosed => return message,
                Received::Record(record) => panic!("a record after the Close message: {record}"),
            }
        }
    }

    /// Answers an invocation with a completion carrying `result`.
    pub(crate) async fn complete(&mut self, invocation_id: &Value, result: Value) {
        self.send_record(json!({"type": 3, "invocationId": invocation_id, "result": result}))
            .await;
    }
}

/// A `PushUpdate` argument as the push publisher builds it.
pub(crate) fn order_confirmed(order_id: &str) -> Value {
    json!({
        "type": "order-confirmed",
        "orderId": order_id,
        "messageId": format!("msg-{order_id}"),
    })
}
