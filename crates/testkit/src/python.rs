//! The Python tools the tests drive, from `python/requirements.txt` (pinned
//! like a lock file): `pysignalr` and `signalrcore`, SignalR clients nobody
//! here wrote, and `openapi-spec-validator`, which checks the OpenAPI document.
//!
//! Guarantees: [`interpreter`] returns the venv's Python with every pinned
//! package installed, installing them into `python/.venv` on first use (as
//! `scripts/test` does up front), and again whenever `requirements.txt` differs
//! from the copy the last install left in `.venv/installed`. Python 3 with `venv` must be installed:
//! tests that need it fail, never skip, without it.

use std::path::{Path, PathBuf};

use crate::signalr::install_step;

/// The folder with `requirements.txt` and the scripts.
pub fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("python")
}

/// The venv's interpreter, with the pinned packages installed.
pub async fn interpreter() -> PathBuf {
    static INSTALLED: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();
    let dir = dir();
    INSTALLED
        .get_or_init(|| async {
            let dir = self::dir();
            let requirements =
                std::fs::read(dir.join("requirements.txt")).expect("python/requirements.txt");
            if std::fs::read(dir.join(".venv/installed")).ok() == Some(requirements.clone()) {
                return;
            }
            install_step(&dir, "python3", &["-m", "venv", ".venv"]).await;
            install_step(
                &dir,
                ".venv/bin/pip",
                &["install", "--quiet", "-r", "requirements.txt"],
            )
            .await;
            std::fs::write(dir.join(".venv/installed"), requirements)
                .expect("a marker in the venv");
        })
        .await;
    dir.join(".venv/bin/python")
}
