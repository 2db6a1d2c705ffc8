//! The web console driven in a real browser: Debian's Chromium (`/usr/bin/chromium`, or
//! `CHROMIUM`) through `playwright-core` from npm (no browser download), pinned in
//! `console-browser/package.json` with a committed lock; `console-browser/console.mjs` is
//! the scenario. `scripts/test` installs both; a test run without them installs the npm
//! part on first use and fails (never skips) without Chromium.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::process::Command;

use crate::signalr::install_step;

/// The Node project with the pinned `playwright-core` and `console.mjs`.
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

/// Runs `console.mjs` against the console at `base_url`, screenshots into `screenshots`;
/// panics with the browser's account of what went wrong unless every step passed.
pub async fn run_console_scenario(base_url: &str, screenshots: &Path) -> ConsoleRun {
    let chromium = chromium_path();
    assert!(
        chromium.is_file(),
        "the console browser test needs Chromium at {} (`apt-get install chromium`, which scripts/test does)",
        chromium.display()
    );
    let dir = browser_dir();
    if !dir
        .join("node_modules/playwright-core/package.json")
        .is_file()
    {
        install_step(&dir, "npm", &["ci", "--no-audit", "--no-fund"]).await;
    }
    let run = Command::new("node")
        .arg("console.mjs")
        .arg(base_url)
        .arg(screenshots)
        .env("CHROMIUM", &chromium)
        .current_dir(&dir)
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(180), run)
        .await
        .expect("the console scenario did not finish within 180 s")
        .expect("cannot run node (install Node.js)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the console scenario failed ({})\n--- steps\n{stdout}\n--- stderr\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    ConsoleRun {
        steps: stdout
            .lines()
            .map(|line| serde_json::from_str(line).expect("a JSON step line"))
            .collect(),
    }
}
