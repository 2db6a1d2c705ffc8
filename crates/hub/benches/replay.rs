//! Replaying a reconnecting user's missed pushes (issue 13): N pushes are recorded in the
//! user's inbox while they are offline, then the official `@microsoft/signalr` client
//! (Node) connects and answers each `PushUpdate`; timed from its `connected` event to its
//! N-th push, and to the inbox having none pending (every push acknowledged).
//!
//! ```text
//! cargo bench -p orderflow-hub --bench replay                 # both adapters, 1,000 pushes
//! cargo bench -p orderflow-hub --bench replay -- sqlite       # one adapter
//! ORDERFLOW_BENCH_PUSHES=500 cargo bench -p orderflow-hub --bench replay
//! ```
//!
//! PostgreSQL runs in a fresh database on `ORDERFLOW_TEST_DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`), dropped afterwards.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use orderflow_app::ports::{InboxBounds, InboxPush, PushInbox};
use orderflow_auth::dev_issuer::stable_user_id;
use orderflow_auth::{DevIssuer, TokenValidator, ValidatorConfig, default_http_client};
use orderflow_hub::{HubConfig, PushHub, hub_router};
use orderflow_inbox::{PostgresInbox, SharedClock, SqliteInbox};
use orderflow_testkit::signalr::SignalrClient;
use orderflow_testkit::{ScratchPath, TestDatabase};
use uuid::Uuid;

#[tokio::main]
async fn main() {
    let pushes: usize = std::env::var("ORDERFLOW_BENCH_PUSHES")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(1_000);
    let only: Vec<String> = std::env::args()
        .skip(1)
        .filter(|arg| !arg.starts_with('-'))
        .collect();
    let wanted = |name: &str| only.is_empty() || only.iter().any(|arg| name.contains(arg.as_str()));
    let bounds = InboxBounds {
        max_per_user: u32::try_from(pushes).unwrap().max(1_000),
        ..InboxBounds::default()
    };
    if wanted("sqlite") {
        let scratch = ScratchPath::new("replay-bench.sqlite");
        let inbox = SqliteInbox::open(scratch.path(), bounds, SharedClock::system())
            .await
            .unwrap();
        run("SQLite", Arc::new(inbox), pushes).await;
    }
    if wanted("postgres") {
        let database = TestDatabase::create().await;
        let inbox = PostgresInbox::connect(database.url(), bounds, SharedClock::system())
            .await
            .unwrap();
        run("PostgreSQL", Arc::new(inbox), pushes).await;
    }
}

async fn run(name: &str, inbox: Arc<dyn PushInbox>, pushes: usize) {
    let user = stable_user_id("alice").to_string();
    let all: Vec<InboxPush> = (0..pushes)
        .map(|n| {
            let message_id = Uuid::new_v4();
            InboxPush {
                message_id,
                user_ids: vec![user.clone()],
                argument: serde_json::json!({
                    "type": "order-confirmed",
                    "orderId": format!("order-{n}"),
                    "messageId": message_id,
                })
                .to_string(),
            }
        })
        .collect();
    for chunk in all.chunks(256) {
        inbox.record(chunk).await.unwrap();
    }

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let keys = std::env::temp_dir().join(format!("orderflow-replay-bench-{}", Uuid::new_v4()));
    let issuer = DevIssuer::load_or_create(&keys, DevIssuer::issuer_url_for_base(&base), None)
        .await
        .unwrap();
    let validator = TokenValidator::lazy(
        ValidatorConfig::new(issuer.issuer_url()),
        default_http_client().unwrap(),
    );
    let hub = PushHub::with_inbox(validator, HubConfig::default(), inbox.clone());
    let router = issuer.router().merge(hub_router(hub));
    let server = tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let token = issuer.issue_for_user("alice").unwrap().access_token;

    let mut client =
        SignalrClient::node(&format!("{base}/hubs/push-updates"), &token, "result").await;
    client.expect_event("connected").await;
    let started = Instant::now();
    for _ in 0..pushes {
        client.expect_event("push").await;
    }
    let received = started.elapsed();
    while !inbox.pending(&user, 1).await.unwrap().is_empty() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let acknowledged = started.elapsed();
    client.stop().await;
    server.abort();
    let _ = std::fs::remove_dir_all(&keys);
    println!(
        "{name}: {pushes} missed pushes replayed: all received in {:.0} ms, all acknowledged in {:.0} ms (target < 1 s)",
        received.as_secs_f64() * 1000.0,
        acknowledged.as_secs_f64() * 1000.0
    );
}
