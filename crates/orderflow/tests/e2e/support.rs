//! Running `orderflow` processes and talking to them as a client would.

use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// A running `orderflow` command; killed when dropped.
pub struct Process {
    pub child: Child,
    /// `host:port` it listens on.
    pub address: String,
}

impl Process {
    /// Starts `orderflow <args>` with `envs` and waits until it listens.
    /// `ORDERFLOW_*` variables of the test's own environment are not passed on.
    pub async fn start(args: &[&str], envs: &[(&str, &str)]) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_orderflow"));
        command.args(args);
        for (name, _) in std::env::vars().filter(|(name, _)| name.starts_with("ORDERFLOW_")) {
            command.env_remove(name);
        }
        command
            .envs(envs.iter().copied())
            .stdout(Stdio::piped())
            .kill_on_drop(true);
        let mut child = command.spawn().unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let address = tokio::time::timeout(Duration::from_secs(60), async {
            loop {
                let line = lines
                    .next_line()
                    .await
                    .unwrap()
                    .unwrap_or_else(|| panic!("orderflow {args:?} exited before listening"));
                if let Some(address) = line.strip_prefix("orderflow is listening on ") {
                    return address.to_owned();
                }
            }
        })
        .await
        .unwrap_or_else(|_| panic!("orderflow {args:?} did not listen within 60 s"));
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Process { child, address }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }
}

/// `orderflow up` built in this test process (`Application::build` on port
/// 0), for tests where a separate process is not the point; stopped when
/// dropped.
pub struct InProcessUp {
    pub address: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl InProcessUp {
    pub async fn start(data_dir: &std::path::Path) -> Self {
        Self::start_with(data_dir, &[]).await
    }

    /// `up` with `extra` arguments after the listener and data dir.
    pub async fn start_with(data_dir: &std::path::Path, extra: &[&str]) -> Self {
        let mut args = vec![
            "orderflow",
            "up",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            data_dir.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        let settings = orderflow::Settings::from_args(args).unwrap();
        let application = orderflow::Application::build(settings).await.unwrap();
        let address = application.local_addr().unwrap().to_string();
        let (stop, stopped) = tokio::sync::oneshot::channel();
        tokio::spawn(application.run_until(async move {
            let _ = stopped.await;
        }));
        InProcessUp {
            address,
            stop: Some(stop),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }
}

impl Drop for InProcessUp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// `orderflow up` on port 0 in `data_dir`.
pub async fn orderflow_up(data_dir: &std::path::Path) -> Process {
    let data_dir = data_dir.to_str().unwrap();
    Process::start(
        &["up", "--listen", "127.0.0.1:0", "--data-dir", data_dir],
        &[],
    )
    .await
}

pub fn http() -> reqwest::Client {
    orderflow_auth::default_http_client().unwrap()
}

/// An access token from the dev issuer at `issuer_base` (password = user name).
pub async fn password_token(issuer_base: &str, user: &str) -> String {
    let response: Value = http()
        .post(format!(
            "{issuer_base}/realms/orderflow/protocol/openid-connect/token"
        ))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "grant_type=password&client_id=orderflow-web&username={user}&password={user}"
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    response["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no token for {user}: {response}"))
        .to_owned()
}

/// The global position a write answered with (`Orderflow-Position`).
fn written_position(response: &reqwest::Response) -> u64 {
    response
        .headers()
        .get("orderflow-position")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse().ok())
        .expect("a write answers with its position")
}

/// Places the README's order; returns the created order and its position.
pub async fn place_order(orders_base: &str, token: &str) -> (Value, u64) {
    let response = http()
        .post(format!("{orders_base}/orders"))
        .bearer_auth(token)
        .json(&json!({"currency":"EUR","items":[{"sku":"SKU-1","name":"Coffee beans","quantity":2,"unitPrice":"12.50"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let position = written_position(&response);
    (response.json().await.unwrap(), position)
}

/// Confirms an order as an admin; returns the write's position.
pub async fn confirm_order(orders_base: &str, token: &str, order_id: &str) -> u64 {
    let response = http()
        .post(format!("{orders_base}/orders/{order_id}/confirm"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    written_position(&response)
}

/// The ids `GET /orders?{query}` finds for `token`'s user, once the index
/// has reached `min_position`.
pub async fn search_ids(
    orders_base: &str,
    token: &str,
    query: &str,
    min_position: u64,
) -> Vec<String> {
    let response = http()
        .get(format!(
            "{orders_base}/orders?{query}&minPosition={min_position}"
        ))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let page: Value = response.json().await.unwrap();
    assert_eq!(page["upToDate"], true, "the index did not catch up: {page}");
    item_ids(&page)
}

/// The `id`s of a page's `items`.
pub fn item_ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["id"].as_str().unwrap().to_owned())
        .collect()
}

/// The RabbitMQ on this machine.
const AMQP_URL: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";

/// Deletes what server-mode processes declared on the test's own `exchange`:
/// the shared queues of the order service and the gateway, the dead letters
/// and the exchanges.
async fn remove_broker_topology(exchange: &str) {
    let config = orderflow_bus::RabbitConfig {
        exchange: exchange.to_owned(),
        ..orderflow_bus::RabbitConfig::new(AMQP_URL)
    };
    let bus = orderflow_bus::RabbitBus::connect(config).await.unwrap();
    for queue in [
        "orders.create-order",
        "gateway.read-model",
        "gateway.notifications",
    ] {
        bus.delete_queue(&format!("{exchange}.{queue}"))
            .await
            .unwrap();
    }
    bus.delete_exchanges().await.unwrap();
}

/// Server mode around one test: the dev issuer as its own process, and a
/// PostgreSQL database and RabbitMQ exchange of the test's own. Components
/// started with [`ServerMode::start`] get the environment that points them
/// at these; [`ServerMode::finish`] removes the broker topology.
pub struct ServerMode {
    pub idp: Process,
    database: orderflow_testkit::TestDatabase,
    exchange: String,
    issuer: String,
    _data_dir: tempfile::TempDir,
}

impl ServerMode {
    pub async fn new() -> Self {
        Self::with_idp_env(&[]).await
    }

    /// Server mode whose `idp` also gets `idp_env` (e.g. `ORDERFLOW_DEV_REDIRECT_URIS`).
    pub async fn with_idp_env(idp_env: &[(&str, &str)]) -> Self {
        let database = orderflow_testkit::TestDatabase::create().await;
        let exchange = format!("orderflow-test-{}", uuid::Uuid::new_v4().simple());
        let data_dir = tempfile::tempdir().unwrap();
        let idp = Process::start(
            &[
                "idp",
                "--listen",
                "127.0.0.1:0",
                "--data-dir",
                data_dir.path().to_str().unwrap(),
            ],
            idp_env,
        )
        .await;
        let issuer = idp.url("/realms/orderflow");
        ServerMode {
            idp,
            database,
            exchange,
            issuer,
            _data_dir: data_dir,
        }
    }

    /// `ORDERFLOW_*` for a component of this deployment.
    pub fn env(&self) -> Vec<(&'static str, &str)> {
        vec![
            ("ORDERFLOW_OIDC_ISSUER", self.issuer.as_str()),
            ("ORDERFLOW_OIDC_AUDIENCE", orderflow_auth::DEV_AUDIENCE),
            ("ORDERFLOW_AMQP_URL", AMQP_URL),
            ("ORDERFLOW_AMQP_EXCHANGE", self.exchange.as_str()),
            ("ORDERFLOW_DATABASE_URL", self.database.url()),
            ("ORDERFLOW_COMMAND_TIMEOUT_MS", "2000"),
        ]
    }

    /// `orderflow <component> --listen <address>` in this deployment.
    pub async fn start(&self, component: &str, address: &str) -> Process {
        Process::start(&[component, "--listen", address], &self.env()).await
    }

    /// `orderflow <component>` on a port of its own in this deployment, with `extra`
    /// variables (e.g. `OTEL_*`).
    pub async fn start_with(&self, component: &str, extra: &[(&'static str, String)]) -> Process {
        let mut env: Vec<(&str, &str)> = self.env();
        env.extend(extra.iter().map(|(name, value)| (*name, value.as_str())));
        Process::start(&[component, "--listen", "127.0.0.1:0"], &env).await
    }

    /// Removes what the components declared on the broker.
    pub async fn finish(self) {
        remove_broker_topology(&self.exchange).await;
    }
}
