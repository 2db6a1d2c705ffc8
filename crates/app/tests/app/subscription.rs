//! The catch-up subscription runner (`run_subscription`) over the real
//! SQLite event store: the checkpoint moves only after the handler returned
//! `Ok`, a failed batch is handed again (at least once) after a growing
//! backoff without losing or reordering events, and shutdown stores what
//! was handled but not stored yet (within the checkpoint interval).
//!
//! Time is real here, not paused: SQLite does its work on threads of its own
//! (the writer thread answers through a channel), and with paused time the
//! runtime would jump the clock ahead while it waits for them, firing the
//! tests' timeouts. The waits are short and every one is bounded.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use orderflow_app::ports::{
    CheckpointStore, EventMetadata, EventStore, ExpectedRevision, NewEvent, Position,
    RecordedEvent, StreamName,
};
use orderflow_app::subscription::{
    CatchUpSubscription, EventHandler, HandlerError, SubscriptionConfig, run_subscription,
};
use orderflow_store::SqliteEventStore;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use uuid::Uuid;

use crate::support::{FixedClock, TestStore, eventually, within};

const NAME: &str = "under-test";

/// Appends `count` events to a stream of their own.
async fn append_events(store: &SqliteEventStore, count: usize) {
    let stream = StreamName::parse(format!("test-{}", Uuid::now_v7())).unwrap();
    let events = (0..count)
        .map(|index| NewEvent {
            id: Uuid::now_v7(),
            event_type: "TestEvent".into(),
            schema_version: 1,
            data: serde_json::json!({ "index": index }),
            metadata: EventMetadata {
                correlation_id: Uuid::now_v7(),
                causation_id: Uuid::now_v7(),
                user_id: None,
                occurred_at: FixedClock::NOW,
                trace: orderflow_app::TraceContext::none(),
            },
        })
        .collect();
    store
        .append(&stream, ExpectedRevision::Any, events)
        .await
        .unwrap();
}

fn positions(range: std::ops::RangeInclusive<u64>) -> Vec<Position> {
    range.map(Position::new).collect()
}

/// One call of the handler: what it was handed, the checkpoint stored at
/// that moment, when, and whether it failed.
#[derive(Debug)]
struct Call {
    batch: Vec<Position>,
    checkpoint: Position,
    at: Instant,
    failed: bool,
}

/// Reports every call; fails the calls whose number (from 1) is in `fail`.
struct Recorder {
    checkpoints: Arc<SqliteEventStore>,
    calls: mpsc::UnboundedSender<Call>,
    fail: Vec<usize>,
    made: usize,
}

#[async_trait]
impl EventHandler for Recorder {
    async fn handle(&mut self, events: &[RecordedEvent]) -> Result<(), HandlerError> {
        self.made += 1;
        let failed = self.fail.contains(&self.made);
        let checkpoint = self.checkpoints.load_checkpoint(NAME).await.unwrap();
        let call = Call {
            batch: events.iter().map(|event| event.position).collect(),
            checkpoint,
            at: Instant::now(),
            failed,
        };
        let _ = self.calls.send(call);
        if failed {
            Err(HandlerError::invariant("the index is down (test)"))
        } else {
            Ok(())
        }
    }
}

/// A runner over `test`'s store, its handler failing the calls in `fail`.
struct Running {
    calls: mpsc::UnboundedReceiver<Call>,
    shutdown: oneshot::Sender<()>,
    runner: JoinHandle<()>,
}

async fn start(test: &TestStore, config: SubscriptionConfig, fail: &[usize]) -> Running {
    let (calls_tx, calls) = mpsc::unbounded_channel();
    let handler = Recorder {
        checkpoints: test.store.clone(),
        calls: calls_tx,
        fail: fail.to_vec(),
        made: 0,
    };
    let subscription = CatchUpSubscription::open(test.store.clone(), test.store.clone(), config)
        .await
        .unwrap();
    let (shutdown, stop) = oneshot::channel::<()>();
    let runner = tokio::spawn(run_subscription(subscription, handler, async {
        let _ = stop.await;
    }));
    Running {
        calls,
        shutdown,
        runner,
    }
}

impl Running {
    async fn next_call(&mut self) -> Call {
        within("the next handler call", self.calls.recv())
            .await
            .unwrap()
    }

    async fn stop(self) {
        let _ = self.shutdown.send(());
        within("the runner to stop", self.runner).await.unwrap();
    }
}

fn config(batch_size: usize) -> SubscriptionConfig {
    SubscriptionConfig {
        batch_size,
        poll_interval: Duration::from_millis(100),
        ..SubscriptionConfig::new(NAME)
    }
}

async fn stored_checkpoint(store: &SqliteEventStore) -> Position {
    store.load_checkpoint(NAME).await.unwrap()
}

async fn wait_for_checkpoint(store: &SqliteEventStore, expected: Position) {
    eventually(&format!("the checkpoint at {expected}"), || async {
        stored_checkpoint(store).await == expected
    })
    .await;
}

#[tokio::test]
async fn the_checkpoint_moves_only_after_each_batch_was_handled() {
    // Given five events, read two at a time
    let test = TestStore::open().await;
    append_events(&test.store, 5).await;

    // When the subscription runs
    let mut running = start(&test, config(2), &[]).await;

    // Then each batch sees the checkpoint of the batch before, not its own
    let mut seen = Vec::new();
    for _ in 0..3 {
        let call = running.next_call().await;
        seen.push((call.batch, call.checkpoint));
    }
    assert_eq!(
        seen,
        [
            (positions(1..=2), Position::START),
            (positions(3..=4), Position::new(2)),
            (positions(5..=5), Position::new(4)),
        ]
    );
    // and once the last batch is handled the checkpoint is its last position
    wait_for_checkpoint(&test.store, Position::new(5)).await;
    running.stop().await;
}

#[tokio::test]
async fn a_batch_whose_handler_failed_leaves_the_checkpoint_and_is_handed_again() {
    // Given three events and a handler that fails the first time
    let test = TestStore::open().await;
    append_events(&test.store, 3).await;

    // When the subscription runs
    let mut running = start(&test, config(10), &[1]).await;

    // Then the failed batch is handed again, from the same checkpoint
    let failed = running.next_call().await;
    assert!(failed.failed);
    assert_eq!(failed.batch, positions(1..=3));
    let retried = running.next_call().await;
    assert!(!retried.failed);
    assert_eq!(retried.batch, positions(1..=3));
    assert_eq!(retried.checkpoint, Position::START, "moved after a failure");
    // and after the success the stored checkpoint is the last position
    wait_for_checkpoint(&test.store, Position::new(3)).await;
    running.stop().await;
}

#[tokio::test]
async fn a_failing_handler_is_retried_with_a_growing_backoff_without_losing_or_reordering_events() {
    // Given five events, read two at a time, and a handler that fails the
    // second batch three times in a row
    let test = TestStore::open().await;
    append_events(&test.store, 5).await;

    // When the subscription runs
    let mut running = start(&test, config(2), &[2, 3, 4]).await;
    let mut calls = Vec::new();
    for _ in 0..6 {
        calls.push(running.next_call().await);
    }
    running.stop().await;

    // Then the failed batch comes again and again, from the first one's checkpoint
    let handed: Vec<(Vec<Position>, bool)> = calls
        .iter()
        .map(|call| (call.batch.clone(), call.failed))
        .collect();
    assert_eq!(
        handed,
        [
            (positions(1..=2), false),
            (positions(3..=4), true),
            (positions(3..=4), true),
            (positions(3..=4), true),
            (positions(3..=4), false),
            (positions(5..=5), false),
        ]
    );
    assert!(
        calls[1..=4]
            .iter()
            .all(|c| c.checkpoint == Position::new(2))
    );
    // after pauses that double: at least 50, 100 and 200 ms
    for (retry, least) in [(2, 50), (3, 100), (4, 200)] {
        let pause = calls[retry].at - calls[retry - 1].at;
        assert!(
            pause >= Duration::from_millis(least),
            "retry {retry} came after {pause:?}, before the {least} ms backoff"
        );
    }
    // and every event was handled successfully once, in order
    let handled: Vec<Position> = calls
        .iter()
        .filter(|call| !call.failed)
        .flat_map(|call| call.batch.clone())
        .collect();
    assert_eq!(handled, positions(1..=5));
}

#[tokio::test]
async fn shutdown_stores_the_position_handled_within_the_checkpoint_interval() {
    // Given a subscription that stores its checkpoint at most once an hour
    let test = TestStore::open().await;
    append_events(&test.store, 2).await;
    let lazy = SubscriptionConfig {
        checkpoint_interval: Duration::from_secs(3600),
        ..config(10)
    };
    let mut running = start(&test, lazy, &[]).await;

    // When it has handled two batches
    assert_eq!(running.next_call().await.batch, positions(1..=2));
    append_events(&test.store, 3).await;
    let second = running.next_call().await;
    assert_eq!(second.batch, positions(3..=5));
    // (nothing stored yet: the interval has not passed)
    assert_eq!(second.checkpoint, Position::START);

    // and is shut down
    running.stop().await;

    // Then the last handled position is stored
    assert_eq!(stored_checkpoint(&test.store).await, Position::new(5));
    // and a restart resumes right after it
    append_events(&test.store, 1).await;
    let mut restarted = start(&test, config(10), &[]).await;
    assert_eq!(restarted.next_call().await.batch, positions(6..=6));
    restarted.stop().await;
}

#[tokio::test]
async fn a_quiet_subscription_stores_what_it_handled_once_the_interval_has_passed() {
    // Given three events and a subscription that stores at most every 100 ms
    let test = TestStore::open().await;
    append_events(&test.store, 3).await;
    let quiet = SubscriptionConfig {
        checkpoint_interval: Duration::from_millis(100),
        poll_interval: Duration::from_secs(3_600),
        ..config(10)
    };

    // When it has handled them and nothing else comes
    let mut running = start(&test, quiet, &[]).await;
    assert_eq!(running.next_call().await.batch, positions(1..=3));

    // Then the checkpoint is stored within a few intervals, without a new
    // event and without a shutdown
    wait_for_checkpoint(&test.store, Position::new(3)).await;
    running.stop().await;
}
