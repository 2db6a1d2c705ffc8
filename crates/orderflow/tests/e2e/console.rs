//! The web console end to end: a real `orderflow up` (built in process) and Debian's
//! Chromium driven by playwright-core (`orderflow_testkit::console_browser`). Screenshots
//! of both views land in `target/console-screenshots/`.

use orderflow_testkit::console_browser::run_console_scenario;

use crate::support::{InProcessUp, http};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn buyers_and_admins_work_in_the_console_with_live_updates() {
    let data_dir = tempfile::tempdir().unwrap();
    let up = InProcessUp::start(data_dir.path()).await;
    let screenshots =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/console-screenshots");
    let run = run_console_scenario(&up.url(""), &screenshots).await;
    let names: Vec<&str> = run
        .steps
        .iter()
        .filter_map(|step| step["step"].as_str())
        .collect();
    assert_eq!(
        names,
        [
            "signed-in",
            "bad-input-refused",
            "token-refreshed",
            "placed",
            "signed-in",
            "admin-confirmed",
            "buyer-saw-confirmation",
            "signed-in",
            "other-buyer-sees-nothing",
            "ok"
        ]
    );
    for view in ["buyer.png", "admin.png", "buyer-375.png"] {
        assert!(screenshots.join(view).is_file(), "{view}");
    }
}

#[tokio::test]
async fn the_console_is_served_with_cache_headers_and_a_content_security_policy() {
    let data_dir = tempfile::tempdir().unwrap();
    let up = InProcessUp::start(data_dir.path()).await;
    let client = http();
    for path in ["/", "/callback"] {
        let index = client.get(up.url(path)).send().await.unwrap();
        assert_eq!(index.status(), 200, "{path}");
        assert_eq!(index.headers()["cache-control"], "no-cache");
        assert_eq!(index.headers()["x-frame-options"], "DENY");
        let policy = index.headers()["content-security-policy"].to_str().unwrap();
        assert!(
            policy.starts_with("default-src 'none'; script-src 'self';"),
            "{policy}"
        );
    }
    let html = client
        .get(up.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let scripts: Vec<&str> = html
        .split("src=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .collect();
    assert_eq!(scripts.len(), 4, "{html}");
    for script in scripts {
        let answer = client.get(up.url(script)).send().await.unwrap();
        assert_eq!(answer.status(), 200, "{script}");
        assert_eq!(
            answer.headers()["cache-control"],
            "public, max-age=31536000, immutable"
        );
        assert!(
            answer.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/javascript")
        );
    }
    let unhashed = client
        .get(up.url("/console/console.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(unhashed.status(), 404);
}
