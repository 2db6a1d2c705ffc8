//! The tool's core run end to end against a tiny axum server on `127.0.0.1:0`: every
//! measured request is accounted for, the server saw exactly what was sent, and a server
//! answering 500 is reported as non-2xx (and fails the run).

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use clap::Parser;
use orderflow_loadtest::Error;
use orderflow_loadtest::cli::Args;
use orderflow_loadtest::report::Report;
use orderflow_loadtest::run::execute;
use orderflow_loadtest::stop::StopSignal;

const TOKEN: &str = "test-token";
const CREATED: &str = r#"{"orderId":"0192f1a8-0000-7000-8000-000000000000"}"#;

#[derive(Default)]
struct Seen {
    requests: AtomicU64,
    idempotency_keys: Mutex<HashSet<String>>,
}

async fn token(body: Bytes) -> (StatusCode, String) {
    let form: BTreeMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();
    let grant = |k: &str| form.get(k).map(String::as_str);
    if grant("grant_type") == Some("password")
        && grant("client_id") == Some("orderflow-web")
        && grant("username") == Some("alice")
        && grant("password") == Some("alice")
    {
        (
            StatusCode::OK,
            format!(r#"{{"access_token":"{TOKEN}","token_type":"Bearer"}}"#),
        )
    } else {
        (
            StatusCode::UNAUTHORIZED,
            r#"{"error":"invalid_grant"}"#.to_owned(),
        )
    }
}

async fn create_order(
    State(seen): State<Arc<Seen>>,
    headers: HeaderMap,
) -> (StatusCode, &'static str) {
    seen.requests.fetch_add(1, Ordering::SeqCst);
    if headers.get("authorization").and_then(|v| v.to_str().ok())
        != Some(&format!("Bearer {TOKEN}"))
    {
        return (StatusCode::UNAUTHORIZED, "");
    }
    if let Some(key) = headers.get("idempotency-key").and_then(|v| v.to_str().ok()) {
        seen.idempotency_keys
            .lock()
            .expect("lock")
            .insert(key.to_owned());
    }
    (StatusCode::CREATED, CREATED)
}

async fn ok(State(seen): State<Arc<Seen>>) -> &'static str {
    seen.requests.fetch_add(1, Ordering::SeqCst);
    "ok"
}

async fn fail(State(seen): State<Arc<Seen>>) -> (StatusCode, &'static str) {
    seen.requests.fetch_add(1, Ordering::SeqCst);
    (StatusCode::INTERNAL_SERVER_ERROR, "boom")
}

/// Serves the test routes on a fresh port; returns the base URL and what the server saw.
async fn serve() -> (String, Arc<Seen>) {
    let seen = Arc::new(Seen::default());
    let app = Router::new()
        .route("/token", post(token))
        .route("/orders", post(create_order))
        .route("/ok", get(ok))
        .route("/fail", get(fail))
        .with_state(Arc::clone(&seen));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}"), seen)
}

async fn loadtest(argv: &[&str]) -> Result<Report, Error> {
    let args =
        Args::try_parse_from(std::iter::once("orderflow-loadtest").chain(argv.iter().copied()))
            .expect("arguments parse");
    execute(args.into_config()?, StopSignal::new()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_loop_post_run_accounts_for_every_request_the_server_saw() {
    let (base, seen) = serve().await;
    let report = loadtest(&[
        "--url",
        &format!("{base}/orders"),
        "--method",
        "POST",
        "--body",
        r#"{"currency":"EUR","items":[]}"#,
        "--header",
        "Content-Type: application/json",
        "--bearer-from",
        &format!("{base}/token"),
        "--user",
        "alice",
        "--password",
        "alice",
        "--concurrency",
        "4",
        "--duration",
        "500ms",
        "--unique-header",
        "Idempotency-Key",
    ])
    .await
    .expect("run");
    println!("{report}");

    assert!(report.requests > 0);
    assert_eq!(report.statuses, BTreeMap::from([(201, report.requests)]));
    assert_eq!((report.non_2xx, report.errors, report.missed), (0, 0, 0));
    assert_eq!(
        seen.requests.load(Ordering::SeqCst),
        report.requests,
        "no warm-up: all sent are measured"
    );
    assert_eq!(
        seen.idempotency_keys.lock().expect("lock").len() as u64,
        report.requests,
        "one fresh key per request"
    );
    assert_eq!(
        report.bytes_received,
        report.requests * CREATED.len() as u64
    );
    assert!(
        (0.5..3.0).contains(&report.duration_secs),
        "duration {}",
        report.duration_secs
    );
    let expected_rate = report.requests as f64 / report.duration_secs;
    assert!((report.throughput - expected_rate).abs() < 1e-6);
    let l = report.latency_us;
    assert!(l.p50 <= l.p90 && l.p90 <= l.p99 && l.p99 <= l.p999 && l.p999 <= l.max && l.p50 > 0);
    assert_eq!(
        report.connections_opened, 4,
        "one keep-alive connection per worker"
    );
    assert!(
        report.failures(false).is_empty(),
        "{:?}",
        report.failures(false)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_answering_500_is_reported_as_non_2xx_and_fails_the_run() {
    let (base, seen) = serve().await;
    let report = loadtest(&[
        "--url",
        &format!("{base}/fail"),
        "--concurrency",
        "2",
        "--duration",
        "500ms",
    ])
    .await
    .expect("run");
    println!("{report}");

    assert!(report.requests > 0);
    assert_eq!(report.statuses, BTreeMap::from([(500, report.requests)]));
    assert_eq!(report.non_2xx, report.requests);
    assert_eq!(seen.requests.load(Ordering::SeqCst), report.requests);
    assert!(
        !report.failures(false).is_empty(),
        "non-2xx must fail the run"
    );
    assert!(
        report.failures(true).is_empty(),
        "--allow-errors accepts them"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_loop_run_sends_exactly_the_scheduled_requests_and_discards_the_warmup() {
    let (base, seen) = serve().await;
    let report = loadtest(&[
        "--url",
        &format!("{base}/ok"),
        "--rate",
        "200",
        "--warmup",
        "100ms",
        "--duration",
        "500ms",
        "--concurrency",
        "4",
        "--json",
    ])
    .await
    .expect("run");
    println!("{}", serde_json::to_string(&report).expect("json"));

    assert_eq!(report.requests, 100, "ceil(0.5 s × 200/s)");
    assert_eq!(report.statuses, BTreeMap::from([(200, 100)]));
    assert_eq!(report.missed, 0);
    assert_eq!(
        seen.requests.load(Ordering::SeqCst),
        120,
        "20 warm-up + 100 measured"
    );
    assert_eq!(report.latency_from, "intended-send");
    let service = report
        .service_time_us
        .expect("open loop reports service time");
    assert!(service.p50 <= report.latency_us.p50 && service.max <= report.latency_us.max);
    assert!(
        (0.49..2.0).contains(&report.duration_secs),
        "duration {}",
        report.duration_secs
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_count_is_met_exactly() {
    let (base, seen) = serve().await;
    let report = loadtest(&[
        "--url",
        &format!("{base}/ok"),
        "--requests",
        "50",
        "--concurrency",
        "8",
    ])
    .await
    .expect("run");
    assert_eq!(report.requests, 50);
    assert_eq!(seen.requests.load(Ordering::SeqCst), 50);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_or_a_closed_port_stops_before_any_load() {
    let (base, seen) = serve().await;
    let wrong = loadtest(&[
        "--url",
        &format!("{base}/orders"),
        "--bearer-from",
        &format!("{base}/token"),
        "--user",
        "alice",
        "--password",
        "nope",
        "--requests",
        "1",
    ])
    .await;
    assert!(matches!(wrong, Err(Error::Token(_))), "{wrong:?}");
    assert_eq!(seen.requests.load(Ordering::SeqCst), 0);

    let closed = {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        listener.local_addr().expect("addr")
    };
    let refused = loadtest(&["--url", &format!("http://{closed}/"), "--requests", "1"]).await;
    assert!(matches!(refused, Err(Error::Connect { .. })), "{refused:?}");
}
