//! The web console end to end: a real `orderflow up` (built in process) and Debian's
//! Chromium driven by playwright-core (`orderflow_testkit::console_browser`). Screenshots
//! of both views land in `target/console-screenshots/`.

use orderflow_testkit::console_browser::{BrowserScenario, run_console_scenario};
use orderflow_testkit::cutting_proxy::{CuttingProxy, Gate};

use crate::support::{InProcessUp, Process, ServerMode, http};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn buyers_and_admins_work_in_the_console_with_live_updates() {
    let data_dir = tempfile::tempdir().unwrap();
    let up = InProcessUp::start(data_dir.path()).await;
    let screenshots =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/console-screenshots");
    let run = run_console_scenario(&up.url(""), &screenshots).await;
    assert_eq!(
        run.names(),
        [
            "signed-in",
            "bad-input-refused",
            "token-refreshed",
            "signed-in",
            "signed-in",
            "placed",
            "admins-saw-new-order",
            "admin-confirmed",
            "buyer-saw-confirmation",
            "other-admin-saw-confirmation",
            "signed-in",
            "other-buyer-sees-nothing",
            "ok"
        ]
    );
    for view in ["buyer.png", "admin.png", "buyer-375.png"] {
        assert!(screenshots.join(view).is_file(), "{view}");
    }
}

/// alice's page runs behind a proxy that cuts her network (every socket dropped without a
/// Close, new connections refused) while the admin confirms her order; once it is back her
/// page shows the order confirmed without a reload, and its header went from connected
/// through reconnecting back to connected.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_buyer_cut_off_from_the_network_catches_up_when_it_returns() {
    let data_dir = tempfile::tempdir().unwrap();
    // The proxy's address is alice's console origin, so the dev issuer must know it first.
    let proxy_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let callback = format!("http://{}/callback", proxy_listener.local_addr().unwrap());
    let up = InProcessUp::start_with(data_dir.path(), &["--redirect-uris", &callback]).await;
    let proxy = CuttingProxy::start_on(proxy_listener, up.address.parse().unwrap());
    let mut scenario =
        BrowserScenario::start("reconnect.mjs", &[&up.url(""), &proxy.url("")]).await;
    scenario.expect_step("cut-requested").await;
    proxy.cut(Gate::Refusing).await;
    scenario.reply("cut").await;
    scenario.expect_step("reopen-requested").await;
    proxy.reopen();
    scenario.reply("reopened").await;
    let run = scenario.finish().await;
    assert_eq!(
        run.names(),
        [
            "signed-in",
            "placed",
            "signed-in",
            "cut-requested",
            "buyer-cut-off",
            "admin-confirmed",
            "buyer-still-pending",
            "reopen-requested",
            "buyer-caught-up",
            "ok"
        ]
    );
}

/// The console against oidc-provider from npm, a third-party OIDC provider with its own
/// login and consent pages: `orderflow up` trusts it alone (`ORDERFLOW_OIDC_ISSUER`, and
/// `ORDERFLOW_OIDC_AUDIENCE` its resource server's audience), alice signs in there and
/// places an order, admin confirms it and alice sees it confirmed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_signs_in_at_a_third_party_oidc_provider() {
    let data_dir = tempfile::tempdir().unwrap();
    let mut scenario = BrowserScenario::start("oidc.mjs", &[]).await;
    let provider = scenario.expect_step("console-requested").await;
    let up = Process::start(
        &[
            "up",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            data_dir.path().to_str().unwrap(),
        ],
        &[
            (
                "ORDERFLOW_OIDC_ISSUER",
                provider["issuer"].as_str().unwrap(),
            ),
            (
                "ORDERFLOW_OIDC_AUDIENCE",
                provider["audience"].as_str().unwrap(),
            ),
        ],
    )
    .await;
    scenario.reply(&up.url("")).await;
    let run = scenario.finish().await;
    assert_eq!(
        run.names(),
        [
            "console-requested",
            "signed-in",
            "signed-in",
            "placed",
            "admin-confirmed",
            "buyer-saw-confirmation",
            "ok"
        ]
    );
}

/// `orderflow gateway` alone, in server mode beside `idp`, `orders` and `push-hub`
/// processes: the console it serves talks to its origin only (the gateway's `/api/orders`,
/// and `/orders…` and `/hubs/…` forwarded to the orders service and the hub), and the
/// whole browser scenario passes there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_works_on_a_gateway_alone() {
    // The gateway's address must be in the dev issuer's redirect URIs before it starts.
    let gateway_address = {
        let reserved = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        reserved.local_addr().unwrap().to_string()
    };
    let callback = format!("http://{gateway_address}/callback");
    let deployment =
        ServerMode::with_idp_env(&[("ORDERFLOW_DEV_REDIRECT_URIS", callback.as_str())]).await;
    let hub = deployment.start("push-hub", "127.0.0.1:0").await;
    let orders = deployment.start("orders", "127.0.0.1:0").await;
    let (orders_url, hub_url) = (orders.url(""), hub.url(""));
    let mut env = deployment.env();
    env.extend([
        ("ORDERFLOW_ORDERS_URL", orders_url.as_str()),
        ("ORDERFLOW_HUB_URL", hub_url.as_str()),
    ]);
    let gateway = Process::start(&["gateway", "--listen", &gateway_address], &env).await;
    let screenshots = tempfile::tempdir().unwrap();
    let run = run_console_scenario(&gateway.url(""), screenshots.path()).await;
    assert_eq!(run.names().last(), Some(&"ok"), "{:?}", run.names());
    drop((gateway, orders, hub));
    deployment.finish().await;
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
