//! The subscription lag gauges as `/metrics` renders them, for a subscription that is
//! really behind: the real runner (`run_subscription`) over a real SQLite event store, with
//! a handler that holds each batch until the test lets it go, scraped through the very
//! handler `GET /metrics` serves.
//!
//! Covers: `orderflow_subscription_lag_events` is how many stored events the running loop
//! has not handled yet, `orderflow_subscription_lag_seconds` is the age of the oldest of
//! them (it grows while the subscription is stuck, and follows the oldest unhandled event as
//! the loop moves), and both are 0 once the loop has caught up.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use axum::extract::State;
use axum::response::IntoResponse;
use orderflow_app::ports::{
    EventMetadata, EventStore, ExpectedRevision, NewEvent, Position, RecordedEvent, StreamName,
};
use orderflow_app::subscription::{
    CatchUpSubscription, EventHandler, HandlerError, SubscriptionConfig, run_subscription,
};
use orderflow_store::SqliteEventStore;
use time::OffsetDateTime;
use tokio::sync::mpsc;
use uuid::Uuid;

use super::{ScrapeSources, handle, render};

/// Long enough for a loaded machine, short enough to fail a hung test.
const PATIENCE: Duration = Duration::from_secs(15);

/// Hands each batch's positions to the test, then waits until the test releases it.
struct HeldBack {
    received: mpsc::UnboundedSender<Vec<Position>>,
    releases: mpsc::UnboundedReceiver<()>,
}

#[async_trait]
impl EventHandler for HeldBack {
    async fn handle(&mut self, events: &[RecordedEvent]) -> Result<(), HandlerError> {
        let _ = self
            .received
            .send(events.iter().map(|event| event.position).collect());
        match self.releases.recv().await {
            Some(()) => Ok(()),
            None => Err(HandlerError::invariant("the test is over")),
        }
    }
}

/// One event that happened `ago` before now.
fn event_from(ago: Duration) -> NewEvent {
    NewEvent {
        id: Uuid::now_v7(),
        event_type: "TestEvent".into(),
        schema_version: 1,
        data: serde_json::json!({}),
        metadata: EventMetadata {
            correlation_id: Uuid::now_v7(),
            causation_id: Uuid::now_v7(),
            user_id: None,
            occurred_at: OffsetDateTime::now_utc() - ago,
            trace: orderflow_app::TraceContext::none(),
        },
    }
}

/// `GET /metrics` over `events`, as the route answers it.
async fn scrape(events: &Arc<dyn EventStore>) -> String {
    let sources = ScrapeSources {
        events: Some(events.clone()),
        hub: None,
    };
    let response = render(State(sources)).await.into_response();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    String::from_utf8(body.to_vec()).unwrap()
}

/// The value of `metric{subscription="<subscription>"}` in `text`.
fn lag(text: &str, metric: &str, subscription: &str) -> Option<f64> {
    let series = format!("{metric}{{subscription=\"{subscription}\"}} ");
    text.lines()
        .find_map(|line| line.strip_prefix(&series))
        .map(|value| value.parse().unwrap())
}

async fn next_batch(received: &mut mpsc::UnboundedReceiver<Vec<Position>>) -> Vec<Position> {
    tokio::time::timeout(PATIENCE, received.recv())
        .await
        .expect("the handler is handed a batch in time")
        .expect("the runner is running")
}

fn positions(values: &[u64]) -> Vec<Position> {
    values.iter().copied().map(Position::new).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_back_subscription_reports_its_lag_until_it_catches_up() {
    // As `Application::build` does: the recorder exists before anything records.
    handle();
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(
        SqliteEventStore::open(dir.path().join("events.sqlite"))
            .await
            .unwrap(),
    );
    let events: Arc<dyn EventStore> = store.clone();
    // Three events that happened 30, 20 and 10 s ago, at positions 1, 2 and 3.
    let stream = StreamName::parse(format!("test-{}", Uuid::now_v7())).unwrap();
    let ages = [30, 20, 10].map(Duration::from_secs);
    store
        .append(
            &stream,
            ExpectedRevision::NoStream,
            ages.iter().map(|ago| event_from(*ago)).collect(),
        )
        .await
        .unwrap();

    let name = format!("lag-under-test-{}", Uuid::now_v7().simple());
    let config = SubscriptionConfig {
        batch_size: 1,
        poll_interval: Duration::from_millis(100),
        ..SubscriptionConfig::new(name.clone())
    };
    let subscription = CatchUpSubscription::open(events.clone(), store.clone(), config)
        .await
        .unwrap();
    let (received_tx, mut received) = mpsc::unbounded_channel();
    let (release, releases) = mpsc::unbounded_channel();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let runner = tokio::spawn(run_subscription(
        subscription,
        HeldBack {
            received: received_tx,
            releases,
        },
        async {
            let _ = stopped.await;
        },
    ));

    // Stuck on its first event: all three are behind, the oldest 30 s old.
    assert_eq!(next_batch(&mut received).await, positions(&[1]));
    let text = scrape(&events).await;
    assert_eq!(
        lag(&text, "orderflow_subscription_lag_events", &name),
        Some(3.0),
        "{text}"
    );
    let stuck = lag(&text, "orderflow_subscription_lag_seconds", &name).unwrap();
    assert!(
        (30.0..30.0 + PATIENCE.as_secs_f64()).contains(&stuck),
        "{text}"
    );

    // Still stuck a moment later: the age keeps growing, nothing else changed.
    let pause = Duration::from_millis(500);
    tokio::time::sleep(pause).await;
    let text = scrape(&events).await;
    assert_eq!(
        lag(&text, "orderflow_subscription_lag_events", &name),
        Some(3.0),
        "{text}"
    );
    let later = lag(&text, "orderflow_subscription_lag_seconds", &name).unwrap();
    assert!(
        later >= stuck + pause.as_secs_f64(),
        "{stuck} s, then {later} s after {pause:?}"
    );

    // Each released event moves the lag to the next unhandled one: 2 behind, the oldest
    // 20 s old; then 1 behind, 10 s old.
    for (handed, behind, oldest) in [(2, 2.0, 20.0), (3, 1.0, 10.0)] {
        release.send(()).unwrap();
        assert_eq!(next_batch(&mut received).await, positions(&[handed]));
        let text = scrape(&events).await;
        assert_eq!(
            lag(&text, "orderflow_subscription_lag_events", &name),
            Some(behind),
            "{text}"
        );
        let age = lag(&text, "orderflow_subscription_lag_seconds", &name).unwrap();
        assert!((oldest..oldest + 10.0).contains(&age), "{text}");
    }

    // The last one released: caught up, both are 0.
    release.send(()).unwrap();
    let deadline = tokio::time::Instant::now() + PATIENCE;
    let text = loop {
        let text = scrape(&events).await;
        if lag(&text, "orderflow_subscription_lag_events", &name) == Some(0.0) {
            break text;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never caught up: {text}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(
        lag(&text, "orderflow_subscription_lag_seconds", &name),
        Some(0.0),
        "{text}"
    );

    let _ = stop.send(());
    tokio::time::timeout(PATIENCE, runner)
        .await
        .unwrap()
        .unwrap();
}
