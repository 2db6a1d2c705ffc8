//! The official `@microsoft/signalr` npm client, driven from Rust tests.
//!
//! `signalr-client/` beside this crate is a Node project pinning the client
//! in `package.json` and a committed `package-lock.json`, with `client.mjs`,
//! which connects to a hub, answers `PushUpdate` and prints one JSON event a
//! line (`connected`, `push`, `reconnecting`, `reconnected`, `closed`,
//! `start-failed`, `stopped`). `scripts/test` runs `npm ci` there; a test run
//! without it does the same on first use. Node and npm must be installed:
//! these tests fail, never skip, without them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

/// How long the Node client may take for one step (its start includes Node's own startup).
pub const NODE_PATIENCE: Duration = Duration::from_secs(30);

/// The Node project with the pinned client and `client.mjs`.
pub fn client_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("signalr-client")
}

/// Installs the pinned client with `npm ci` unless `node_modules` already has it.
pub async fn ensure_node_modules() {
    static INSTALLED: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();
    INSTALLED
        .get_or_init(|| async {
            let dir = client_dir();
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
#[derive(Debug)]
pub struct NodeClient {
    child: Child,
    stdin: ChildStdin,
    events: Lines<BufReader<ChildStdout>>,
    /// Every stdout line so far, for failure messages.
    transcript: Vec<String>,
    /// Everything the client logged to stderr, collected in the background.
    log: Arc<Mutex<String>>,
}

impl NodeClient {
    /// Starts `node client.mjs <hub_url> <token> <mode>` (mode: `result`,
    /// `no-result` or `skip-negotiation`).
    pub async fn spawn(hub_url: &str, token: &str, mode: &str) -> Self {
        ensure_node_modules().await;
        let mut child = Command::new("node")
            .arg("client.mjs")
            .args([hub_url, token, mode])
            .current_dir(client_dir())
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

    /// The events so far and the client's log, for failure messages.
    pub fn diagnostics(&self) -> String {
        format!(
            "--- node client events\n{}\n--- node client log (stderr)\n{}",
            self.transcript.join("\n"),
            self.log.lock().unwrap()
        )
    }

    /// Reads events until one named `name` arrives; fails with the transcript otherwise.
    pub async fn expect_event(&mut self, name: &str) -> Value {
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

    /// Fails if an event named `name` arrives within `window`.
    pub async fn expect_no_event(&mut self, name: &str, window: Duration) {
        let deadline = tokio::time::Instant::now() + window;
        while let Ok(line) = tokio::time::timeout_at(deadline, self.events.next_line()).await {
            let Ok(Some(line)) = line else {
                return;
            };
            self.transcript.push(line.clone());
            let event: Value = serde_json::from_str(&line).unwrap_or(Value::Null);
            assert!(
                event["event"] != name,
                "unexpected {name:?} event\n{}",
                self.diagnostics()
            );
        }
    }

    /// Asks the client to stop and waits for it to exit successfully.
    pub async fn stop(mut self) {
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
    pub async fn exit_code(mut self) -> Option<i32> {
        let status = tokio::time::timeout(NODE_PATIENCE, self.child.wait())
            .await
            .unwrap_or_else(|_| panic!("node did not exit\n{}", self.diagnostics()))
            .unwrap();
        status.code()
    }
}
