//! The command line: `orderflow up` on embedded defaults, the README's curl
//! session run verbatim, `orderflow token`, `orderflow projections status`
//! beside a running service, graceful shutdown, and server-mode components
//! refusing to start without their issuer or the audience its tokens must carry.

use std::time::Duration;

use assert_cmd::Command as TestCommand;
use tokio::process::Command;

use crate::support::{
    Process, ServerMode, http, orderflow_up, password_token, place_order, search_ids,
};

#[test]
fn help_lists_every_command_of_the_contract() {
    let output = TestCommand::cargo_bin("orderflow")
        .unwrap()
        .arg("--help")
        .output()
        .unwrap();
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).unwrap();
    for command in ["up", "orders", "gateway", "push-hub", "idp", "token"] {
        assert!(
            help.lines()
                .any(|line| line.trim_start().starts_with(command)),
            "`{command}` missing from:\n{help}"
        );
    }
}

#[test]
fn a_server_mode_component_refuses_to_start_without_an_issuer() {
    for component in ["orders", "gateway", "push-hub"] {
        let output = TestCommand::cargo_bin("orderflow")
            .unwrap()
            .args([component, "--listen", "127.0.0.1:0"])
            .env_remove("ORDERFLOW_OIDC_ISSUER")
            .output()
            .unwrap();
        assert!(!output.status.success(), "{component} started");
        assert!(
            String::from_utf8(output.stderr)
                .unwrap()
                .contains("ORDERFLOW_OIDC_ISSUER"),
            "{component} does not name the missing variable"
        );
    }
}

#[test]
fn a_service_trusting_an_external_issuer_refuses_to_start_without_an_audience() {
    let scratch = tempfile::tempdir().unwrap();
    for command in ["orders", "gateway", "push-hub", "up"] {
        let output = TestCommand::cargo_bin("orderflow")
            .unwrap()
            .args([command, "--listen", "127.0.0.1:0"])
            .current_dir(scratch.path())
            .env(
                "ORDERFLOW_OIDC_ISSUER",
                "http://127.0.0.1:9/realms/orderflow",
            )
            .env_remove("ORDERFLOW_OIDC_AUDIENCE")
            .env_remove("ORDERFLOW_OIDC_ANY_AUDIENCE")
            .timeout(Duration::from_secs(20))
            .output()
            .unwrap();
        assert!(!output.status.success(), "{command} started");
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert!(
            stderr.contains("ORDERFLOW_OIDC_AUDIENCE")
                && stderr.contains("ORDERFLOW_OIDC_ANY_AUDIENCE"),
            "{command} does not name the missing setting: {stderr}"
        );
    }
}

#[tokio::test]
async fn up_serves_the_dev_issuer_and_the_orders_api_on_one_listener() {
    let data_dir = tempfile::tempdir().unwrap();
    let running = orderflow_up(data_dir.path()).await;
    let client = http();
    let alice = password_token(&running.url(""), "alice").await;
    let created = client
        .post(format!("http://{}/orders", running.address))
        .bearer_auth(&alice)
        .json(&serde_json::json!({"currency":"EUR","items":[{"sku":"SKU-1","name":"Coffee beans","quantity":2,"unitPrice":"12.50"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let order: serde_json::Value = created.json().await.unwrap();
    assert_eq!(order["total"], "25.00");
    assert_eq!(order["status"], "pending");

    // `orderflow token` signs with the same persisted key and issuer.
    let output = TestCommand::cargo_bin("orderflow")
        .unwrap()
        .args(["token", "--user", "admin", "--issuer"])
        .arg(format!("http://{}/realms/orderflow", running.address))
        .arg("--data-dir")
        .arg(data_dir.path())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let admin = String::from_utf8(output.stdout).unwrap().trim().to_owned();
    let confirmed = client
        .post(format!(
            "http://{}/orders/{}/confirm",
            running.address,
            order["id"].as_str().unwrap()
        ))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(confirmed.status(), 200);
    let ready = client
        .get(format!("http://{}/health/ready", running.address))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
}

#[cfg(unix)]
#[tokio::test]
async fn up_stops_gracefully_on_sigterm() {
    let data_dir = tempfile::tempdir().unwrap();
    let mut running = orderflow_up(data_dir.path()).await;
    let pid = running.child.id().unwrap();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = tokio::time::timeout(Duration::from_secs(10), running.child.wait())
        .await
        .expect("orderflow up did not stop within 10 s of SIGTERM")
        .unwrap();
    assert!(status.success(), "exit status {status:?}");
}

/// The README's curl session, run verbatim (curl and jq, as a user would)
/// against `orderflow up` on the README's address.
#[tokio::test]
async fn the_readme_curl_session_works_as_written() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
    let session = readme
        .split("<!-- readme-session:start -->")
        .nth(1)
        .and_then(|rest| rest.split("<!-- readme-session:end -->").next())
        .expect("README.md has no readme-session block");
    let script: String = session
        .lines()
        .skip_while(|line| !line.starts_with("```"))
        .skip(1)
        .take_while(|line| !line.starts_with("```"))
        .map(|line| format!("{line}\n"))
        .collect();
    assert!(script.contains("curl"), "the session block has no commands");

    let data_dir = tempfile::tempdir().unwrap();
    let data_dir = data_dir.path().to_str().unwrap();
    let _running = Process::start(
        &["up", "--listen", "127.0.0.1:8080", "--data-dir", data_dir],
        &[],
    )
    .await;
    let output = Command::new("bash")
        .args(["-euo", "pipefail", "-c", &script])
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the README session failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("\"pending\""),
        "no pending order in:\n{stdout}"
    );
    assert!(
        stdout.contains("\"confirmed\""),
        "no confirmed order in:\n{stdout}"
    );
}

#[tokio::test]
async fn projections_status_reports_positions_beside_a_running_up() {
    let data_dir = tempfile::tempdir().unwrap();
    let running = orderflow_up(data_dir.path()).await;
    let alice = password_token(&running.url(""), "alice").await;
    let (order, position) = place_order(&running.url(""), &alice).await;
    let order_id = order["id"].as_str().unwrap();
    // Once search has the order, its committed checkpoint is at least there.
    let found = search_ids(&running.url(""), &alice, "q=coffee", position).await;
    assert!(found.iter().any(|id| id == order_id));

    let output = TestCommand::cargo_bin("orderflow")
        .unwrap()
        .args(["projections", "status", "--data-dir"])
        .arg(data_dir.path())
        .env_remove("ORDERFLOW_DATABASE_URL")
        .env_remove("ORDERFLOW_SEARCH")
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let table = String::from_utf8(output.stdout).unwrap();
    let row = |name: &str| -> Vec<u64> {
        let line = table
            .lines()
            .find(|line| line.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("no {name} row in\n{table}"));
        line.split_whitespace()
            .skip(1)
            .map(|number| number.parse().unwrap())
            .collect()
    };
    let [search, head, lag] = row("search")[..] else {
        panic!("{table}")
    };
    assert!(search >= position, "{table}");
    assert!(head >= position, "{table}");
    assert_eq!(lag, head - search, "{table}");
    assert_eq!(row("push-publisher").len(), 3, "{table}");
    assert_eq!(row("integration-events").len(), 3, "{table}");
    drop(running);
}

/// `GET /orders?q=coffee&minPosition=…` as `token`: the total it reports.
async fn coffee_total(base: &str, token: &str, min_position: u64) -> u64 {
    let page: serde_json::Value = http()
        .get(format!("{base}/orders?q=coffee&minPosition={min_position}"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page["upToDate"], true, "{page}");
    page["total"].as_u64().unwrap()
}

/// `orderflow projections rebuild search --url <base> <args>`, which must
/// report the index rebuilt.
async fn rebuild_search(base: &str, args: &[&str]) {
    let rebuild = Command::new(env!("CARGO_BIN_EXE_orderflow"))
        .args(["projections", "rebuild", "search", "--url", base])
        .args(args)
        .env_remove("ORDERFLOW_TOKEN")
        .output()
        .await
        .unwrap();
    assert!(rebuild.status.success(), "{rebuild:?}");
    assert!(String::from_utf8_lossy(&rebuild.stdout).contains("rebuilt"));
}

#[tokio::test]
async fn projections_rebuild_search_swaps_in_a_fresh_index_that_keeps_following() {
    let data_dir = tempfile::tempdir().unwrap();
    let running = orderflow_up(data_dir.path()).await;
    let base = running.url("");
    let alice = password_token(&base, "alice").await;
    let bob = password_token(&base, "bob").await;
    let mut last = 0;
    for _ in 0..30 {
        last = place_order(&base, &alice).await.1;
    }
    assert_eq!(coffee_total(&base, &alice, last).await, 30);
    let refused = http()
        .post(format!("{base}/admin/search/rebuild"))
        .bearer_auth(&bob)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);

    rebuild_search(&base, &["--data-dir", data_dir.path().to_str().unwrap()]).await;

    // The fresh index is in use, the old directory is gone, nothing is lost,
    // and the live projection follows on the fresh index.
    let current = std::fs::read_to_string(data_dir.path().join("search.current")).unwrap();
    assert!(current.starts_with("search-"), "{current}");
    assert!(data_dir.path().join(&current).is_dir());
    assert!(!data_dir.path().join("search").exists());
    assert_eq!(coffee_total(&base, &alice, last).await, 30);
    let (_, after) = place_order(&base, &alice).await;
    assert_eq!(coffee_total(&base, &alice, after).await, 31);

    // A restart opens the rebuilt index.
    drop(running);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let restarted = orderflow_up(data_dir.path()).await;
    let base = restarted.url("");
    let alice = password_token(&base, "alice").await;
    assert_eq!(coffee_total(&base, &alice, after).await, 31);
}

#[tokio::test]
async fn projections_rebuild_search_on_postgresql_moves_every_orders_instance_to_fresh_tables() {
    let deployment = ServerMode::new().await;
    // Replaced tables are dropped 1 s after the rebuild: an instance that had
    // not followed by then would fail its searches.
    let mut env = deployment.env();
    env.push(("ORDERFLOW_SEARCH_REBUILD_GRACE_MS", "1000"));
    let first = Process::start(&["orders", "--listen", "127.0.0.1:0"], &env).await;
    let second = Process::start(&["orders", "--listen", "127.0.0.1:0"], &env).await;
    let identity = deployment.idp.url("");
    let alice = password_token(&identity, "alice").await;
    let admin = password_token(&identity, "admin").await;
    let mut last = 0;
    for _ in 0..20 {
        last = place_order(&first.url(""), &alice).await.1;
    }
    assert_eq!(coffee_total(&second.url(""), &alice, last).await, 20);

    rebuild_search(&first.url(""), &["--token", &admin]).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;

    // Both instances answer from the rebuilt tables, and both projections
    // follow on them.
    for instance in [&first, &second] {
        assert_eq!(coffee_total(&instance.url(""), &alice, last).await, 20);
    }
    let (_, after) = place_order(&second.url(""), &alice).await;
    for instance in [&first, &second] {
        assert_eq!(coffee_total(&instance.url(""), &alice, after).await, 21);
    }
    // A restarted instance opens them too.
    drop(second);
    let restarted = Process::start(&["orders", "--listen", "127.0.0.1:0"], &env).await;
    assert_eq!(coffee_total(&restarted.url(""), &alice, after).await, 21);

    drop((first, restarted));
    deployment.finish().await;
}
