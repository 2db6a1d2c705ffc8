//! The embedded files and their content-hashed names.
//!
//! Guarantees: a file is served under `{stem}.{first 12 hex digits of its SHA-256}.{ext}`
//! only, so a changed file gets a new name and a cached old one is never wrong;
//! `index.html` names the current ones and carries the issuer URL (HTML-escaped) in a
//! `<meta>` the scripts read (no inline script, so the CSP needs none).

use std::sync::LazyLock;

use sha2::{Digest, Sha256};

/// One embedded file.
#[derive(Debug)]
pub(crate) struct Asset {
    /// The name `index.html` refers to before hashing (`console.js`).
    pub(crate) name: &'static str,
    pub(crate) content_type: &'static str,
    pub(crate) bytes: &'static [u8],
    /// `console.3f2a…9b.js`.
    pub(crate) hashed_name: String,
}

const JAVASCRIPT: &str = "text/javascript; charset=utf-8";

const FILES: [(&str, &str, &[u8]); 5] = [
    (
        "signalr.min.js",
        JAVASCRIPT,
        include_bytes!(concat!(env!("OUT_DIR"), "/signalr.min.js")),
    ),
    (
        "auth.js",
        JAVASCRIPT,
        include_bytes!("../web/static/auth.js"),
    ),
    ("api.js", JAVASCRIPT, include_bytes!("../web/static/api.js")),
    (
        "console.js",
        JAVASCRIPT,
        include_bytes!("../web/static/console.js"),
    ),
    (
        "console.css",
        "text/css; charset=utf-8",
        include_bytes!("../web/static/console.css"),
    ),
];

const INDEX_TEMPLATE: &str = include_str!("../web/static/index.html");

static ASSETS: LazyLock<Vec<Asset>> = LazyLock::new(|| {
    FILES
        .iter()
        .map(|(name, content_type, bytes)| Asset {
            name,
            content_type,
            bytes,
            hashed_name: hashed_name(name, bytes),
        })
        .collect()
});

fn hashed_name(name: &str, bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let hash: String = digest
        .iter()
        .take(6)
        .map(|byte| format!("{byte:02x}"))
        .collect();
    match name.rsplit_once('.') {
        Some((stem, extension)) => format!("{stem}.{hash}.{extension}"),
        None => format!("{name}.{hash}"),
    }
}

/// The file served under `hashed_name`.
pub(crate) fn by_hashed_name(hashed_name: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|asset| asset.hashed_name == hashed_name)
}

/// `index.html` naming the hashed files, with the issuer URL.
pub(crate) fn index_html(issuer_url: &str) -> String {
    let mut html = INDEX_TEMPLATE.replace("{{issuer}}", &escape(issuer_url));
    for asset in ASSETS.iter() {
        html = html.replace(
            &format!("{{{{{}}}}}", asset.name),
            &format!("/console/{}", asset.hashed_name),
        );
    }
    html
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_names_every_file_by_its_hash_and_nothing_unhashed() {
        let html = index_html("http://x/realms/orderflow");
        assert!(!html.contains("{{"), "{html}");
        for asset in ASSETS.iter() {
            assert!(
                html.contains(&format!("/console/{}", asset.hashed_name)),
                "{}",
                asset.name
            );
            assert!(by_hashed_name(&asset.hashed_name).is_some());
        }
        assert!(by_hashed_name("console.js").is_none());
    }
}
