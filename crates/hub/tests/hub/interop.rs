//! Interop with a client nobody here wrote: the official `@microsoft/signalr` npm package,
//! pinned in `tests/interop/package.json` and `package-lock.json`, driven through
//! `tests/interop/client.mjs`.
//!
//! Node and npm must be installed: these tests fail (never skip) without them. The first test
//! that needs the package runs `npm ci` when `node_modules` is missing.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

use crate::support::{TestHub, order_confirmed, user_id};

/// How long the Node client may take for one step (its start includes Node's own startup).
const NODE_PATIENCE: Duration = Duration::from_secs(30);

fn interop_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop")
}

/// Installs the pinned client with `npm ci` unless `node_modules` already has it.
async fn ensure_node_modules() {
    static INSTALLED: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();
    INSTALLED
        .get_or_init(|| async {
            let dir = interop_dir();
            if dir
                .join("node_modules/@microsoft/signalr/package.json")
                .is_file()
            {
                return;
            }
            eprintln!("interop: running `npm ci` in {}", dir.display());
            let output = Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund"])
                .current_dir(&dir)
                .output()
                .await
                .unwrap_or_else(|error| {
                    panic!("interop: cannot run npm (is Node.js with npm installed?): {error}")
                });
            assert!(
                output.status.success(),
                "interop: `npm ci` failed with {}\n--- stdout\n{}\n--- stderr\n{}",
                output.status,
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        })
        .await;
}

/// A running `node client.mjs`, its events read line by line.
struct NodeClient {
    child: Child,
    stdin: ChildStdin,
    events: Lines<BufReader<ChildStdout>>,
    /// Every stdout line so far, for failure messages.
    transcript: Vec<String>,
    /// Everything the client logged to stderr, collected in the background.
    log: Arc<Mutex<String>>,
}

impl NodeClient {
    async fn spawn(hub_url: &str, token: &str, mode: &str) -> Self {
        ensure_node_modules().await;
        let mut child = Command::new("node")
            .arg("client.mjs")
            .args([hub_url, token, mode])
            .current_dir(interop_dir())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|error| {
                panic!("interop: cannot start node (is Node.js installed?): {error}")
            });
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut stderr = child.stderr.take().expect("piped stderr");
        let log = Arc::new(Mutex::new(String::new()));
        let collected = log.clone();
        tokio::spawn(async move {
            let mut buffer = [0_u8; 4096];
            while let Ok(read) = stderr.read(&mut buffer).await {
                if read == 0 {
                    break;
                }
                collected
                    .lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buffer[..read]));
            }
        });
        Self {
            child,
            stdin,
            events: BufReader::new(stdout).lines(),
            transcript: Vec::new(),
            log,
        }
    }

    fn diagnostics(&self) -> String {
        format!(
            "--- node client events\n{}\n--- node client log (stderr)\n{}",
            self.transcript.join("\n"),
            self.log.lock().unwrap()
        )
    }

    /// Reads events until one named `name` arrives; fails with the transcript otherwise.
    async fn expect_event(&mut self, name: &str) -> Value {
        let deadline = tokio::time::Instant::now() + NODE_PATIENCE;
        loop {
            let line = match tokio::time::timeout_at(deadline, self.events.next_line()).await {
                Err(_elapsed) => panic!(
                    "interop: no {name:?} event within {NODE_PATIENCE:?}\n{}",
                    self.diagnostics()
                ),
                Ok(Err(error)) => panic!(
                    "interop: reading the node client failed: {error}\n{}",
                    self.diagnostics()
                ),
                Ok(Ok(None)) => panic!(
                    "interop: the node client exited before a {name:?} event\n{}",
                    self.diagnostics()
                ),
                Ok(Ok(Some(line))) => line,
            };
            self.transcript.push(line.clone());
            let event: Value = serde_json::from_str(&line).unwrap_or_else(|error| {
                panic!(
                    "interop: the node client printed a line that is not JSON ({error})\n{}",
                    self.diagnostics()
                )
            });
            if event["event"] == name {
                return event;
            }
        }
    }

    /// Asks the client to stop and waits for it to exit successfully.
    async fn stop(mut self) {
        self.stdin.write_all(b"stop\n").await.unwrap();
        self.stdin.flush().await.unwrap();
        self.expect_event("stopped").await;
        let status = tokio::time::timeout(NODE_PATIENCE, self.child.wait())
            .await
            .expect("node exits after stopping")
            .unwrap();
        assert!(status.success(), "{status}\n{}", self.diagnostics());
    }

    /// Waits for the process to exit and returns its code.
    async fn exit_code(mut self) -> Option<i32> {
        let status = tokio::time::timeout(NODE_PATIENCE, self.child.wait())
            .await
            .unwrap_or_else(|_| panic!("node did not exit\n{}", self.diagnostics()))
            .unwrap();
        status.code()
    }
}

/// Pushes to alice and asserts her one connection acknowledged; returns the client's result.
async fn push_to_alice(running: &TestHub, node: &mut NodeClient, order_id: &str) -> Option<Value> {
    let update = order_confirmed(order_id);
    let hub = running.hub.clone();
    let pushed = update.clone();
    let push = tokio::spawn(async move {
        hub.push(&[user_id("alice")], pushed, Duration::from_secs(5))
            .await
    });
    let received = node.expect_event("push").await;
    assert_eq!(received["update"], update, "{}", node.diagnostics());
    let report = push.await.unwrap();
    assert_eq!(
        report.delivered.len(),
        1,
        "the hub saw the client's completion: {report:?}\n{}",
        node.diagnostics()
    );
    assert!(report.every_connection_acknowledged(), "{report:?}");
    report.delivered[0].result.clone()
}

#[tokio::test]
async fn the_official_client_receives_a_push_and_its_result_reaches_the_hub() {
    let running = TestHub::start().await;
    let mut node = NodeClient::spawn(&running.hub_url(), &running.token("alice"), "result").await;
    node.expect_event("connected").await;
    let result = push_to_alice(&running, &mut node, "interop-1").await;
    assert_eq!(
        result,
        Some(serde_json::json!({"received": "msg-interop-1", "by": "node"}))
    );
    node.stop().await;
}

#[tokio::test]
async fn a_handler_of_the_official_client_that_returns_nothing_still_acknowledges() {
    let running = TestHub::start().await;
    let mut node =
        NodeClient::spawn(&running.hub_url(), &running.token("alice"), "no-result").await;
    node.expect_event("connected").await;
    let result = push_to_alice(&running, &mut node, "interop-2").await;
    assert_eq!(result, None);
    node.stop().await;
}

#[tokio::test]
async fn the_official_client_may_skip_negotiation_and_connect_the_websocket_directly() {
    let running = TestHub::start().await;
    let mut node = NodeClient::spawn(
        &running.hub_url(),
        &running.token("alice"),
        "skip-negotiation",
    )
    .await;
    node.expect_event("connected").await;
    let result = push_to_alice(&running, &mut node, "interop-3").await;
    assert_eq!(result.unwrap()["received"], "msg-interop-3");
    node.stop().await;
}

#[tokio::test]
async fn the_official_client_is_refused_without_a_token() {
    let running = TestHub::start().await;
    let mut node = NodeClient::spawn(&running.hub_url(), "", "result").await;
    let failed = node.expect_event("start-failed").await;
    let message = failed["message"].as_str().unwrap_or_default().to_owned();
    assert!(
        message.contains("401"),
        "the start fails with 401: {message}\n{}",
        node.diagnostics()
    );
    assert_eq!(node.exit_code().await, Some(2));
    assert_eq!(running.hub.connection_count(), 0);
}

#[tokio::test]
async fn the_official_client_reconnects_after_the_hub_restarts_and_gets_later_pushes() {
    let mut running = TestHub::start().await;
    let mut node = NodeClient::spawn(&running.hub_url(), &running.token("alice"), "result").await;
    node.expect_event("connected").await;
    push_to_alice(&running, &mut node, "before-restart").await;

    running.restart().await;
    node.expect_event("reconnecting").await;
    node.expect_event("reconnected").await;
    assert_eq!(running.hub.connections_of(&user_id("alice")), 1);
    let result = push_to_alice(&running, &mut node, "after-restart").await;
    assert_eq!(result.unwrap()["received"], "msg-after-restart");
    node.stop().await;
}
