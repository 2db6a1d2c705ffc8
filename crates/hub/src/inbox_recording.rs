//! Recording pushes in the inbox beside pushing them. The relay hands each batch of pushes to
//! one recorder task and queues them on their users' connections at once; the recorder writes
//! whatever has been handed to it meanwhile in one [`PushInbox::record`] call (a group
//! commit), so a push's latency never waits for the disk, and the broker is acknowledged only
//! once the push is durable.
//!
//! Guarantees:
//! - pushes are recorded in the order they were handed over; a [`RecordTicket`] resolves once
//!   its pushes, and every one handed over before them, are durable, or fails once the
//!   recorder has given up (shutdown came while the inbox was unavailable);
//! - writes start at least [`MIN_WRITE_INTERVAL`] apart: under load each takes whatever
//!   arrived meanwhile (at 5,000 pushes/s, about 50 per write), so the inbox's page writes
//!   and checkpoints grow with the writes, not with the pushes; a lone push is written at once;
//! - a record that fails is retried with backoff (100 ms doubling to 5 s) until it succeeds
//!   or the relay shuts down;
//! - [`RecordingProgress::caught_up`] waits until everything handed over before the call is
//!   durable: a connection that has just completed its handshake calls it before reading its
//!   user's pending pushes, so a push that went out live just before it connected, and was
//!   not yet recorded, is not missed;
//! - what waits for the recorder is bounded: each batch handed over holds deliveries in flight
//!   in the relay, of which there are at most its prefetch.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use orderflow_app::ports::{InboxPush, PushInbox};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

/// The least time between the starts of two writes.
const MIN_WRITE_INTERVAL: Duration = Duration::from_millis(10);
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// What has been recorded so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Durable {
    /// Every batch numbered up to this one is durable.
    through: u64,
    /// The recorder stopped before recording the batches after `through`.
    given_up: bool,
}

/// How far recording has come, shared by the relay (which hands pushes over) and the
/// connections (which wait for it before replaying).
#[derive(Debug)]
pub(crate) struct RecordingProgress {
    /// The number of the last batch handed over.
    handed: AtomicU64,
    durable: watch::Sender<Durable>,
}

impl Default for RecordingProgress {
    fn default() -> Self {
        Self {
            handed: AtomicU64::new(0),
            durable: watch::Sender::new(Durable::default()),
        }
    }
}

impl RecordingProgress {
    /// Waits, at most `patience`, until every batch handed over before this call is durable
    /// (or the recorder gave up); false if the patience ran out first.
    pub(crate) async fn caught_up(&self, patience: Duration) -> bool {
        let target = self.handed.load(Ordering::Acquire);
        let mut durable = self.durable.subscribe();
        let reached = durable.wait_for(|durable| durable.through >= target || durable.given_up);
        matches!(tokio::time::timeout(patience, reached).await, Ok(Ok(_)))
    }
}

/// The recorder was stopped before it recorded a batch: the batch's deliveries must not be
/// acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the inbox recorder stopped before recording the push")]
pub(crate) struct RecordingGivenUp;

/// Resolves once one handed-over batch is durable.
#[derive(Debug, Clone)]
pub(crate) struct RecordTicket {
    batch: u64,
    durable: watch::Receiver<Durable>,
}

impl RecordTicket {
    /// Waits until the batch is durable.
    pub(crate) async fn durable(mut self) -> Result<(), RecordingGivenUp> {
        let batch = self.batch;
        let reached = self
            .durable
            .wait_for(|durable| durable.through >= batch || durable.given_up)
            .await
            .map(|durable| *durable)
            .map_err(|_closed| RecordingGivenUp)?;
        if reached.through >= batch {
            Ok(())
        } else {
            Err(RecordingGivenUp)
        }
    }
}

/// Hands batches of pushes to the recorder task.
#[derive(Debug)]
pub(crate) struct InboxRecorder {
    progress: Arc<RecordingProgress>,
    batches: mpsc::UnboundedSender<(u64, Vec<InboxPush>)>,
}

impl InboxRecorder {
    /// Starts the recorder task writing to `inbox`; it gives up what it has not recorded once
    /// `stop` turns true (or its sender is dropped), and ends when this recorder is dropped.
    pub(crate) fn spawn(
        inbox: Arc<dyn PushInbox>,
        progress: Arc<RecordingProgress>,
        stop: watch::Receiver<bool>,
    ) -> (Self, JoinHandle<()>) {
        let (batches, handed) = mpsc::unbounded_channel();
        let task = tokio::spawn(record_in_order(inbox, progress.clone(), handed, stop));
        (Self { progress, batches }, task)
    }

    /// Hands `pushes` over to be recorded after everything handed before; never waits.
    /// Called from one task at a time (the relay's ordered start).
    pub(crate) fn hand_over(&self, pushes: Vec<InboxPush>) -> RecordTicket {
        let batch = self.progress.handed.fetch_add(1, Ordering::AcqRel) + 1;
        let durable = self.progress.durable.subscribe();
        // A send fails only once the task has ended (given up): the ticket then fails too.
        let _ = self.batches.send((batch, pushes));
        RecordTicket { batch, durable }
    }
}

async fn record_in_order(
    inbox: Arc<dyn PushInbox>,
    progress: Arc<RecordingProgress>,
    mut handed: mpsc::UnboundedReceiver<(u64, Vec<InboxPush>)>,
    mut stop: watch::Receiver<bool>,
) {
    let mut last_write: Option<tokio::time::Instant> = None;
    loop {
        let Some((mut last, mut pushes)) = handed.recv().await else {
            return;
        };
        // Writes are spaced at least MIN_WRITE_INTERVAL apart, so that under load each one
        // takes many pushes (the pushes have gone out already: only the broker's
        // acknowledgement waits for this).
        if let Some(started) = last_write {
            let gathered = tokio::select! {
                biased;
                _ = stop.wait_for(|stopped| *stopped) => false,
                () = tokio::time::sleep_until(started + MIN_WRITE_INTERVAL) => true,
            };
            if !gathered {
                return give_up(&progress, &mut handed);
            }
        }
        last_write = Some(tokio::time::Instant::now());
        // Everything else already handed over goes into the same write.
        while let Ok((batch, more)) = handed.try_recv() {
            last = batch;
            pushes.extend(more);
        }
        let recorded = tokio::select! {
            biased;
            _ = stop.wait_for(|stopped| *stopped) => false,
            () = record_durably(&*inbox, &pushes) => true,
        };
        if !recorded {
            return give_up(&progress, &mut handed);
        }
        progress
            .durable
            .send_modify(|durable| durable.through = last);
    }
}

/// Stops recording: every ticket not yet durable fails, and so does every later one.
fn give_up(
    progress: &RecordingProgress,
    handed: &mut mpsc::UnboundedReceiver<(u64, Vec<InboxPush>)>,
) {
    progress
        .durable
        .send_modify(|durable| durable.given_up = true);
    handed.close();
}

/// Records `pushes`, retrying until it succeeds (drop it to give up).
async fn record_durably(inbox: &dyn PushInbox, pushes: &[InboxPush]) {
    let mut backoff = FIRST_BACKOFF;
    loop {
        match inbox.record(pushes).await {
            Ok(recorded) => {
                crate::inbox::count_dropped("count", recorded.dropped_by_count);
                return;
            }
            Err(error) => {
                tracing::warn!(%error, ?backoff, pushes = pushes.len(), "cannot record pushes in the inbox; retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}

#[cfg(test)]
#[path = "inbox_recording_tests.rs"]
mod tests;
