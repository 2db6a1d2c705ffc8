//! Installs the console's third-party browser code — the official `@microsoft/signalr`
//! browser build — from the committed lock (`npm ci` in `web/`) when `web/node_modules`
//! lacks it, and copies what the console embeds into `OUT_DIR`. Nothing from npm is
//! committed; a fresh checkout needs `npm` on the PATH once.

use std::path::{Path, PathBuf};
use std::process::Command;

const SIGNALR: &str = "node_modules/@microsoft/signalr/dist/browser/signalr.min.js";

fn main() -> Result<(), String> {
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").map_err(|error| error.to_string())?;
    let out_dir = std::env::var("OUT_DIR").map_err(|error| error.to_string())?;
    let web = Path::new(&manifest_dir).join("web");
    for watched in [
        "web/package.json",
        "web/package-lock.json",
        "web/static",
        SIGNALR_WATCH,
    ] {
        println!("cargo:rerun-if-changed={watched}");
    }
    let signalr = web.join(SIGNALR);
    if !signalr.is_file() {
        install_from_lock(&web)?;
    }
    let target = PathBuf::from(out_dir).join("signalr.min.js");
    std::fs::copy(&signalr, &target).map_err(|error| {
        format!(
            "cannot copy {} to {}: {error}",
            signalr.display(),
            target.display()
        )
    })?;
    Ok(())
}

const SIGNALR_WATCH: &str = "web/node_modules/@microsoft/signalr/dist/browser/signalr.min.js";

fn install_from_lock(web: &Path) -> Result<(), String> {
    let status = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--ignore-scripts"])
        .current_dir(web)
        .status()
        .map_err(|error| {
            format!("the console's browser code comes from npm: cannot run `npm ci` in {} ({error}); install Node.js and npm", web.display())
        })?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`npm ci` in {} failed ({status})", web.display()))
    }
}
