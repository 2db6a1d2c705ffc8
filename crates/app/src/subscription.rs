//! Catch-up subscriptions: read every event in global order from a stored
//! checkpoint, then follow live.
//!
//! Guarantees:
//! * **Nothing skipped, nothing reordered.** Events come in position order,
//!   straight from [`EventStore::read_all`], whose positions are commit-ordered
//!   and gap-free.
//! * **At least once.** The checkpoint moves only when the subscriber calls
//!   [`CatchUpSubscription::acknowledge`]; after a crash or a failed handler the
//!   subscription resumes from the last acknowledged position, so handlers must
//!   be idempotent.
//! * **Live without busy waiting.** When caught up, it sleeps until the store's
//!   head notification fires (LISTEN/NOTIFY on PostgreSQL, an in-process signal
//!   on SQLite), or until the slow poll interval passes, whichever comes first.
//! * **Observable.** [`run_subscription`] records, per subscription, the last
//!   handled position (`orderflow_subscription_position`), the events handled
//!   (`orderflow_subscription_events_total`), each batch's handling time
//!   (`orderflow_subscription_batch_seconds`) and failed steps
//!   (`orderflow_subscription_failures_total`) through the `metrics` facade, and keeps
//!   each running subscription's last handled position for [`handled_positions`] (the
//!   binary turns it into lag gauges at scrape time).
//! * **Traced.** [`EventSpans`] opens the spans a handler handles a batch in, one per run of
//!   events appended by the same work: each a child of the trace that appended them, so one
//!   trace runs from a request to what it caused.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::watch;

use crate::ports::{CheckpointStore, EventStore, EventStoreError, Leases, Position, RecordedEvent};

mod event_span;
mod handled;

pub use event_span::EventSpans;
use handled::HandledPosition;
pub use handled::handled_positions;

/// How a subscription reads.
#[derive(Debug, Clone)]
pub struct SubscriptionConfig {
    /// Checkpoints are stored under this name: one per subscriber.
    pub name: String,
    /// Most events handed over in one batch.
    pub batch_size: usize,
    /// Fallback poll interval when no notification arrives.
    pub poll_interval: Duration,
    /// Least time between two checkpoint writes in [`run_subscription`]:
    /// zero stores after every batch; more saves a durable write per batch
    /// on a busy live subscription, at the price of re-handling
    /// (idempotently) what was handled since the last write after a crash.
    pub checkpoint_interval: Duration,
    /// Least time between the starts of two non-empty batches in
    /// [`run_subscription`]: zero reads on as soon as events arrive; more
    /// lets a busy stream gather into fewer, larger batches (fewer index
    /// commits) at the price of up to that much delay.
    pub min_batch_interval: Duration,
}

impl SubscriptionConfig {
    pub fn new(name: impl Into<String>) -> Self {
        SubscriptionConfig {
            name: name.into(),
            batch_size: 1_000,
            poll_interval: Duration::from_secs(1),
            checkpoint_interval: Duration::ZERO,
            min_batch_interval: Duration::ZERO,
        }
    }
}

/// A named reader of the global event order with a stored checkpoint.
pub struct CatchUpSubscription {
    store: Arc<dyn EventStore>,
    checkpoints: Arc<dyn CheckpointStore>,
    config: SubscriptionConfig,
    /// Last position handed out by [`CatchUpSubscription::poll`]; ahead of the
    /// stored checkpoint while a batch is being handled.
    read_cursor: Position,
    /// Last position stored as the checkpoint.
    acknowledged: Position,
    head: watch::Receiver<Position>,
}

impl std::fmt::Debug for CatchUpSubscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CatchUpSubscription")
            .field("name", &self.config.name)
            .field("read_cursor", &self.read_cursor)
            .field("acknowledged", &self.acknowledged)
            .finish_non_exhaustive()
    }
}

impl CatchUpSubscription {
    /// Opens the subscription at its stored checkpoint.
    pub async fn open(
        store: Arc<dyn EventStore>,
        checkpoints: Arc<dyn CheckpointStore>,
        config: SubscriptionConfig,
    ) -> Result<Self, EventStoreError> {
        let acknowledged = checkpoints.load_checkpoint(&config.name).await?;
        let head = store.watch_head();
        Ok(CatchUpSubscription {
            store,
            checkpoints,
            config,
            read_cursor: acknowledged,
            acknowledged,
            head,
        })
    }

    pub fn name(&self) -> &str {
        &self.config.name
    }

    /// The last acknowledged (stored) position.
    pub fn acknowledged(&self) -> Position {
        self.acknowledged
    }

    /// Reads the next batch without waiting; empty when caught up.
    pub async fn poll(&mut self) -> Result<Vec<RecordedEvent>, EventStoreError> {
        self.head.borrow_and_update();
        let batch = self
            .store
            .read_all(self.read_cursor, self.config.batch_size)
            .await?;
        if let Some(last) = batch.last() {
            debug_assert_eq!(
                batch.first().map(|e| e.position.value()),
                Some(self.read_cursor.value() + 1),
                "read_all must continue right after the cursor"
            );
            self.read_cursor = last.position;
        }
        Ok(batch)
    }

    /// Waits for the next non-empty batch.
    pub async fn next_batch(&mut self) -> Result<Vec<RecordedEvent>, EventStoreError> {
        loop {
            let batch = self.poll().await?;
            if !batch.is_empty() {
                return Ok(batch);
            }
            let poll_interval = self.config.poll_interval;
            tokio::select! {
                changed = self.head.changed() => {
                    if changed.is_err() {
                        // The store's notifier is gone: fall back to polling.
                        tokio::time::sleep(poll_interval).await;
                    }
                }
                () = tokio::time::sleep(poll_interval) => {}
            }
        }
    }

    /// Stores `position` as handled: a restart resumes after it.
    pub async fn acknowledge(&mut self, position: Position) -> Result<(), EventStoreError> {
        debug_assert!(
            position <= self.read_cursor,
            "cannot acknowledge unread events"
        );
        if position <= self.acknowledged {
            return Ok(());
        }
        self.checkpoints
            .save_checkpoint(&self.config.name, position)
            .await?;
        self.acknowledged = position;
        Ok(())
    }

    /// Forgets unacknowledged reads: the next poll starts again after the
    /// last acknowledged position.
    pub fn rewind(&mut self) {
        self.read_cursor = self.acknowledged;
    }
}

/// Why a handler could not handle a batch; the batch is retried. What it
/// was doing is its message; the failure underneath is kept as its source.
#[derive(Debug, thiserror::Error)]
#[error("{doing}")]
pub struct HandlerError {
    doing: String,
    #[source]
    cause: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl HandlerError {
    /// `cause` stopped the handler while it was `doing` something.
    pub fn new(
        doing: impl Into<String>,
        cause: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        HandlerError {
            doing: doing.into(),
            cause: Some(Box::new(cause)),
        }
    }

    /// `cause` stopped the handler; its own message says enough.
    pub fn of(cause: impl std::error::Error + Send + Sync + 'static) -> Self {
        HandlerError {
            doing: cause.to_string(),
            cause: Some(Box::new(cause)),
        }
    }

    /// A failure without an underlying error (a broken invariant).
    pub fn invariant(message: impl Into<String>) -> Self {
        HandlerError {
            doing: message.into(),
            cause: None,
        }
    }
}

/// Why one step of [`run_subscription`] failed; the step is retried.
#[derive(Debug, thiserror::Error)]
enum StepError {
    #[error("reading the next batch failed: {0}")]
    Read(#[source] EventStoreError),
    #[error("handling a batch failed: {0}")]
    Handle(#[source] HandlerError),
}

/// Something that handles batches of events, idempotently.
#[async_trait]
pub trait EventHandler: Send {
    /// Handles `events` (in position order). Returning `Ok` means their effects
    /// are durable (indexed, published and confirmed…): the checkpoint moves.
    async fn handle(&mut self, events: &[RecordedEvent]) -> Result<(), HandlerError>;
}

#[async_trait]
impl<H: EventHandler + ?Sized> EventHandler for &mut H {
    async fn handle(&mut self, events: &[RecordedEvent]) -> Result<(), HandlerError> {
        (**self).handle(events).await
    }
}

/// [`run_subscription`] for a job that one instance of a deployment runs at
/// a time (an outbox publisher): waits for the lease named after the
/// subscription, opens the subscription at its stored checkpoint, and runs
/// it until `shutdown` resolves or the lease is lost — then waits for the
/// lease again. A lost lease may have let another instance start meanwhile,
/// which re-handles at most the batches after the last stored checkpoint:
/// handlers are idempotent.
pub async fn run_leased_subscription<H: EventHandler>(
    leases: Arc<dyn Leases>,
    store: Arc<dyn EventStore>,
    checkpoints: Arc<dyn CheckpointStore>,
    config: SubscriptionConfig,
    mut handler: H,
    shutdown: impl Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    loop {
        let mut lease = tokio::select! {
            () = shutdown.as_mut() => return,
            lease = leases.acquire(&config.name) => lease,
        };
        let opened =
            CatchUpSubscription::open(store.clone(), checkpoints.clone(), config.clone()).await;
        let subscription = match opened {
            Ok(subscription) => subscription,
            Err(error) => {
                tracing::warn!(subscription = %config.name, %error, "cannot open the leased subscription, retrying");
                drop(lease);
                tokio::select! {
                    () = shutdown.as_mut() => return,
                    () = tokio::time::sleep(Duration::from_secs(1)) => continue,
                }
            }
        };
        tokio::select! {
            () = run_subscription(subscription, &mut handler, shutdown.as_mut()) => return,
            () = lease.lost() => {
                tracing::warn!(subscription = %config.name, "lease lost; pausing until it is held again");
            }
        }
    }
}

/// Drives `handler` with `subscription` until `shutdown` resolves.
///
/// Store or handler failures never end the loop: it backs off (up to 5 s),
/// rewinds to the last checkpoint and tries again, so work resumes by itself
/// when the database or the broker comes back.
pub async fn run_subscription<H: EventHandler>(
    mut subscription: CatchUpSubscription,
    mut handler: H,
    shutdown: impl Future<Output = ()>,
) {
    const MIN_BACKOFF: Duration = Duration::from_millis(50);
    const MAX_BACKOFF: Duration = Duration::from_secs(5);
    let mut backoff = MIN_BACKOFF;
    let checkpoint_interval = subscription.config.checkpoint_interval;
    let mut last_saved = tokio::time::Instant::now();
    // Handled but not stored yet (within the checkpoint interval).
    let mut handled: Option<Position> = None;
    tokio::pin!(shutdown);
    let min_batch_interval = subscription.config.min_batch_interval;
    // When the next batch may start (after a non-empty one, with an interval).
    let mut not_before: Option<tokio::time::Instant> = None;
    // Registered once: a batch only updates them.
    let name = subscription.name().to_owned();
    let batch_seconds =
        metrics::histogram!("orderflow_subscription_batch_seconds", "subscription" => name.clone());
    let events_handled =
        metrics::counter!("orderflow_subscription_events_total", "subscription" => name.clone());
    let handled_position =
        metrics::gauge!("orderflow_subscription_position", "subscription" => name.clone());
    let failures =
        metrics::counter!("orderflow_subscription_failures_total", "subscription" => name.clone());
    let progress = HandledPosition::register(name, subscription.acknowledged());
    loop {
        // Handled but unstored positions are stored once the interval has
        // passed, even when no further event comes to carry them.
        let store_by = handled.map(|_| last_saved + checkpoint_interval);
        let step = async {
            if let Some(at) = not_before.take() {
                tokio::time::sleep_until(at).await;
            }
            let batch = match store_by {
                Some(deadline) => tokio::select! {
                    batch = subscription.next_batch() => batch,
                    () = tokio::time::sleep_until(deadline) => return Ok(None),
                },
                None => subscription.next_batch().await,
            }
            .map_err(StepError::Read)?;
            let started = tokio::time::Instant::now();
            if !min_batch_interval.is_zero() && !batch.is_empty() {
                not_before = Some(started + min_batch_interval);
            }
            let Some(last) = batch.last().map(|e| e.position) else {
                return Ok(None);
            };
            handler.handle(&batch).await.map_err(StepError::Handle)?;
            batch_seconds.record(started.elapsed().as_secs_f64());
            events_handled.increment(batch.len() as u64);
            handled_position.set(last.value() as f64);
            progress.set(last);
            Ok::<_, StepError>(Some(last))
        };
        let result = tokio::select! {
            () = &mut shutdown => {
                if let Some(position) = handled
                    && let Err(error) = subscription.acknowledge(position).await
                {
                    tracing::warn!(subscription = subscription.name(), %error, "cannot store the checkpoint at shutdown");
                }
                return;
            }
            result = step => result,
        };
        match result {
            Ok(last) => {
                backoff = MIN_BACKOFF;
                handled = last.or(handled);
                let Some(position) = handled else { continue };
                if last_saved.elapsed() < checkpoint_interval {
                    continue;
                }
                match subscription.acknowledge(position).await {
                    Ok(()) => {
                        handled = None;
                        last_saved = tokio::time::Instant::now();
                    }
                    Err(error) => {
                        tracing::warn!(subscription = subscription.name(), %error, "cannot store the checkpoint, retrying with the next batch");
                    }
                }
            }
            Err(error) => {
                let cause = std::error::Error::source(&error).map(ToString::to_string);
                tracing::warn!(subscription = subscription.name(), %error, cause, ?backoff, "subscription step failed, retrying");
                failures.increment(1);
                subscription.rewind();
                handled = None;
                tokio::select! {
                    () = &mut shutdown => return,
                    () = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}
