//! The web console driven in a real browser: Debian's Chromium (`/usr/bin/chromium`, or
//! `CHROMIUM`) through `playwright-core` from npm (no browser download), and `oidc-provider`
//! as a third-party identity provider, pinned in `console-browser/package.json` with a
//! committed lock; the `*.mjs` files there are the scenarios. `scripts/test` installs both; a test run without them installs the npm part on
//! first use and fails (never skips) without Chromium.
//!
//! A scenario prints one JSON line per step (`{"step": …}`). A step named `…-requested`
//! asks the test to do something outside the browser (cut the network, say): the scenario
//! waits for one line on its stdin, which [`BrowserScenario::reply`] writes once it is done.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

use crate::signalr::install_step;

/// How long a whole scenario may take.
const SCENARIO_PATIENCE: Duration = Duration::from_secs(180);

/// The Node project with the pinned `playwright-core` and the scenarios.
pub fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("console-browser")
}

/// The Chromium the scenario launches.
pub fn chromium_path() -> PathBuf {
    std::env::var_os("CHROMIUM").map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from)
}

/// What one run of the scenario printed.
#[derive(Debug)]
pub struct ConsoleRun {
    /// One JSON object per step (`{"step": "placed", "orderId": …}`).
    pub steps: Vec<serde_json::Value>,
}

impl ConsoleRun {
    /// The steps' names, in order.
    pub fn names(&self) -> Vec<&str> {
        self.steps
            .iter()
            .filter_map(|step| step["step"].as_str())
            .collect()
    }
}

/// Runs `console.mjs` against the console at `base_url`, screenshots into `screenshots`;
/// panics with the browser's account of what went wrong unless every step passed.
pub async fn run_console_scenario(base_url: &str, screenshots: &Path) -> ConsoleRun {
    let screenshots = screenshots.to_str().expect("a UTF-8 path");
    BrowserScenario::start("console.mjs", &[base_url, screenshots])
        .await
        .finish()
        .await
}

/// A running `node <scenario>.mjs`, read step by step.
#[derive(Debug)]
pub struct BrowserScenario {
    script: String,
    child: Child,
    stdin: ChildStdin,
    lines: Lines<BufReader<ChildStdout>>,
    steps: Vec<serde_json::Value>,
    deadline: tokio::time::Instant,
    /// Everything the scenario wrote to stderr, collected in the background.
    log: Arc<Mutex<String>>,
}

impl BrowserScenario {
    /// Starts `node <script> <args…>` in [`browser_dir`].
    pub async fn start(script: &str, args: &[&str]) -> Self {
        let chromium = chromium_path();
        assert!(
            chromium.is_file(),
            "the console browser test needs Chromium at {} (`apt-get install chromium`, which scripts/test does)",
            chromium.display()
        );
        let dir = browser_dir();
        let installed = ["playwright-core", "oidc-provider"].iter().all(|package| {
            dir.join("node_modules")
                .join(package)
                .join("package.json")
                .is_file()
        });
        if !installed {
            install_step(&dir, "npm", &["ci", "--no-audit", "--no-fund"]).await;
        }
        let mut child = Command::new("node")
            .arg(script)
            .args(args)
            .env("CHROMIUM", &chromium)
            .current_dir(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("cannot run node (install Node.js)");
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
            script: script.to_owned(),
            child,
            stdin,
            lines: BufReader::new(stdout).lines(),
            steps: Vec::new(),
            deadline: tokio::time::Instant::now() + SCENARIO_PATIENCE,
            log,
        }
    }

    /// Reads steps until one named `name`; panics with the transcript if the scenario ends
    /// (or fails) first.
    pub async fn expect_step(&mut self, name: &str) -> serde_json::Value {
        loop {
            let Some(step) = self.next_step().await else {
                self.fail(&format!("ended while step {name:?} was awaited"))
                    .await;
            };
            if step["step"] == name {
                return step;
            }
        }
    }

    /// Tells the scenario that what it requested is done.
    pub async fn reply(&mut self, answer: &str) {
        self.stdin
            .write_all(format!("{answer}\n").as_bytes())
            .await
            .expect("the scenario reads its stdin");
    }

    /// Waits for the scenario to end; panics with its account unless it passed.
    pub async fn finish(mut self) -> ConsoleRun {
        while self.next_step().await.is_some() {}
        let status = tokio::time::timeout_at(self.deadline, self.child.wait())
            .await
            .ok()
            .and_then(Result::ok);
        if !status.is_some_and(|status| status.success()) {
            self.fail(&format!("ended with {status:?}")).await;
        }
        ConsoleRun { steps: self.steps }
    }

    /// The next step, or `None` once stdout is closed. A line that is not a step (a
    /// library's notice on stdout) goes to the log.
    async fn next_step(&mut self) -> Option<serde_json::Value> {
        loop {
            let line = match tokio::time::timeout_at(self.deadline, self.lines.next_line()).await {
                Ok(Ok(line)) => line?,
                Ok(Err(error)) => self.fail(&format!("cannot be read: {error}")).await,
                Err(_elapsed) => {
                    self.fail(&format!("did not finish within {SCENARIO_PATIENCE:?}"))
                        .await
                }
            };
            match serde_json::from_str::<serde_json::Value>(&line) {
                Ok(step) if step["step"].is_string() => {
                    self.steps.push(step.clone());
                    return Some(step);
                }
                _ => {
                    let mut log = self.log.lock().unwrap();
                    log.push_str(&line);
                    log.push('\n');
                }
            }
        }
    }

    async fn fail(&mut self, what: &str) -> ! {
        let _ = self.child.start_kill();
        let _ = tokio::time::timeout(Duration::from_secs(5), self.child.wait()).await;
        // The stderr reader may still be collecting the last lines.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let steps: Vec<String> = self.steps.iter().map(ToString::to_string).collect();
        panic!(
            "the console scenario {} {what}\n--- steps\n{}\n--- stderr\n{}",
            self.script,
            steps.join("\n"),
            self.log.lock().unwrap()
        );
    }
}
