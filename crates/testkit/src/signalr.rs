//! SignalR clients nobody here wrote, driven from Rust tests: the official
//! `@microsoft/signalr` npm client, and `pysignalr` and `signalrcore` (which has
//! no client results) from PyPI.
//!
//! * `signalr-client/` beside this crate is a Node project pinning the
//!   official client in `package.json` and a committed `package-lock.json`,
//!   with `client.mjs`. `scripts/test` runs `npm ci` there.
//! * `python/` pins `pysignalr`, `signalrcore` and everything they need in
//!   `requirements.txt`, with `signalr_client.py` and `signalrcore_client.py`. `scripts/test` installs
//!   them into `python/.venv` ([`crate::python`]).
//!
//! Both programs connect to a hub, answer `PushUpdate` and print one JSON
//! event a line (`connected`, `push`, `reconnecting`, `reconnected`,
//! `closed`, `start-failed`, `stopped`); [`SignalrClient`] reads them. A test
//! run without the installs does them on first use. Node with npm, and
//! Python 3 with venv, must be installed: these tests fail, never skip,
//! without them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

/// How long a client may take for one step (its start includes its runtime's own startup).
pub const CLIENT_PATIENCE: Duration = Duration::from_secs(30);

/// The Node project with the pinned client and `client.mjs`.
pub fn client_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("signalr-client")
}

/// Runs `program args` in `dir`, failing the test with its output unless it succeeds.
pub(crate) async fn install_step(dir: &Path, program: &str, args: &[&str]) {
    eprintln!(
        "interop: running `{program} {}` in {}",
        args.join(" "),
        dir.display()
    );
    let output = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .await
        .unwrap_or_else(|error| panic!("interop: cannot run {program}: {error}"));
    assert!(
        output.status.success(),
        "interop: `{program} {}` failed with {}\n--- stdout\n{}\n--- stderr\n{}",
        args.join(" "),
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
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
            install_step(&dir, "npm", &["ci", "--no-audit", "--no-fund"]).await;
        })
        .await;
}

/// A running `node client.mjs` or `python signalr_client.py`, its events read line by line.
#[derive(Debug)]
pub struct SignalrClient {
    /// Which client, for failure messages.
    name: &'static str,
    child: Child,
    stdin: ChildStdin,
    events: Lines<BufReader<ChildStdout>>,
    /// Every stdout line so far, for failure messages.
    transcript: Vec<String>,
    /// Everything the client logged to stderr, collected in the background.
    log: Arc<Mutex<String>>,
}

impl SignalrClient {
    /// Starts `node client.mjs <hub_url> <token> <mode>` (mode: `result`,
    /// `no-result` or `skip-negotiation`): the official client.
    pub async fn node(hub_url: &str, token: &str, mode: &str) -> Self {
        ensure_node_modules().await;
        let mut command = Command::new("node");
        command.arg("client.mjs").current_dir(client_dir());
        Self::spawn("node", command, [hub_url, token, mode]).await
    }

    /// Starts `python signalr_client.py <hub_url> <token> <mode>` (mode:
    /// `result` or `no-result`): pysignalr, which negotiates version 0.
    pub async fn python(hub_url: &str, token: &str, mode: &str) -> Self {
        let mut command = Command::new(crate::python::interpreter().await);
        command
            .arg("signalr_client.py")
            .current_dir(crate::python::dir());
        Self::spawn("python", command, [hub_url, token, mode]).await
    }

    /// Starts `python signalrcore_client.py <hub_url> <token>`: signalrcore 1.0.2, whose
    /// handler never answers a client-result invocation (no completion at all).
    pub async fn signalrcore(hub_url: &str, token: &str) -> Self {
        let mut command = Command::new(crate::python::interpreter().await);
        command
            .arg("signalrcore_client.py")
            .current_dir(crate::python::dir());
        Self::spawn("signalrcore", command, [hub_url, token, "no-result"]).await
    }

    async fn spawn(name: &'static str, mut command: Command, args: [&str; 3]) -> Self {
        let mut child = command
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|error| panic!("interop: cannot start the {name} client: {error}"));
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
            name,
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
            "--- {0} client events\n{1}\n--- {0} client log (stderr)\n{2}",
            self.name,
            self.transcript.join("\n"),
            self.log.lock().unwrap()
        )
    }

    /// Reads events until one named `name` arrives; fails with the transcript otherwise.
    pub async fn expect_event(&mut self, name: &str) -> Value {
        loop {
            let event = self.next_event().await;
            if event["event"] == name {
                return event;
            }
        }
    }

    /// The next event, whatever it is; fails with the transcript if none comes in time.
    pub async fn next_event(&mut self) -> Value {
        let deadline = tokio::time::Instant::now() + CLIENT_PATIENCE;
        let line = match tokio::time::timeout_at(deadline, self.events.next_line()).await {
            Err(_elapsed) => panic!(
                "interop: no event within {CLIENT_PATIENCE:?}\n{}",
                self.diagnostics()
            ),
            Ok(Err(error)) => panic!(
                "interop: reading the {} client failed: {error}\n{}",
                self.name,
                self.diagnostics()
            ),
            Ok(Ok(None)) => panic!(
                "interop: the {} client exited while an event was awaited\n{}",
                self.name,
                self.diagnostics()
            ),
            Ok(Ok(Some(line))) => line,
        };
        self.transcript.push(line.clone());
        let event: Value = serde_json::from_str(&line).unwrap_or_else(|error| {
            panic!(
                "interop: the {} client printed a line that is not JSON ({error})\n{}",
                self.name,
                self.diagnostics()
            )
        });
        event
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
        let status = tokio::time::timeout(CLIENT_PATIENCE, self.child.wait())
            .await
            .expect("the client exits after stopping")
            .unwrap();
        assert!(status.success(), "{status}\n{}", self.diagnostics());
    }

    /// Waits for the process to exit and returns its code.
    pub async fn exit_code(mut self) -> Option<i32> {
        let status = tokio::time::timeout(CLIENT_PATIENCE, self.child.wait())
            .await
            .unwrap_or_else(|_| panic!("the client did not exit\n{}", self.diagnostics()))
            .unwrap();
        status.code()
    }
}
