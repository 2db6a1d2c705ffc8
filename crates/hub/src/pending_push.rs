//! A push's acknowledgements, once [`PushHub::start_push`](crate::PushHub::start_push) has
//! queued its invocations, and the hub's bound on how many are awaited at once.
//!
//! Guarantees:
//! - [`PendingPush::finish`] resolves once each awaited connection has answered or the
//!   acknowledgement timeout has passed — never later, whatever the clients do; pushes are
//!   acknowledged concurrently, up to [`HubConfig::max_pending_acknowledgements`](crate::HubConfig::max_pending_acknowledgements)
//!   awaited at once across the hub ([`AcknowledgementBudget`]);
//! - a completion with a result, without one, or with the JS client's "Client didn't provide
//!   a result." error counts as delivered; each connection's outcome is counted in
//!   `orderflow_hub_push_deliveries_total{outcome}` (`delivered`, `timed_out`, `failed`, and
//!   `unacknowledged`: written to a client that does not answer client results, so never
//!   known to have arrived).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::oneshot;

use crate::handle::ConnectionHandle;
use crate::protocol::{CompletionOutcome, NO_RESULT_ERROR};
use crate::report::{AcknowledgedPush, DeliveryFailure, FailureReason, PushReport};

/// Counts the acknowledgements awaited across the hub, up to a bound.
#[derive(Debug)]
pub(crate) struct AcknowledgementBudget {
    awaited: AtomicUsize,
    bound: usize,
}

impl AcknowledgementBudget {
    /// A budget of `bound` acknowledgements awaited at once.
    pub(crate) fn new(bound: usize) -> Self {
        Self {
            awaited: AtomicUsize::new(0),
            bound,
        }
    }

    /// A slot for one more awaited acknowledgement, if the bound allows it.
    pub(crate) fn take(self: &Arc<Self>) -> Option<AcknowledgementSlot> {
        self.awaited
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |awaited| {
                (awaited < self.bound).then_some(awaited + 1)
            })
            .ok()
            .map(|_| AcknowledgementSlot(self.clone()))
    }
}

/// One awaited acknowledgement; gives its place back when dropped.
#[derive(Debug)]
pub(crate) struct AcknowledgementSlot(Arc<AcknowledgementBudget>);

impl Drop for AcknowledgementSlot {
    fn drop(&mut self) {
        self.0.awaited.fetch_sub(1, Ordering::AcqRel);
    }
}

/// One queued invocation: its connection, id and completion, holding its place in the
/// hub's bound on awaited acknowledgements.
pub(crate) struct Waiting {
    pub(crate) connection: Arc<ConnectionHandle>,
    pub(crate) invocation_id: String,
    pub(crate) completion: oneshot::Receiver<CompletionOutcome>,
    pub(crate) _slot: Option<AcknowledgementSlot>,
    /// The invocation's span, ended when the connection answered or timed out.
    pub(crate) _span: tracing::Span,
}

/// A push whose invocations are queued; [`PendingPush::finish`] collects
/// the acknowledgements.
pub struct PendingPush {
    deadline: tokio::time::Instant,
    report: PushReport,
    waiting: Vec<Waiting>,
}

impl std::fmt::Debug for PendingPush {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingPush")
            .field("waiting", &self.waiting.len())
            .finish_non_exhaustive()
    }
}

impl PendingPush {
    /// A push whose invocations are queued, answered by `deadline`; `report` holds what is
    /// known already (users not connected, connections not awaited or failed).
    pub(crate) fn new(
        deadline: tokio::time::Instant,
        report: PushReport,
        waiting: Vec<Waiting>,
    ) -> Self {
        Self {
            deadline,
            report,
            waiting,
        }
    }

    /// Waits until every connection answered or the acknowledgement timeout passed.
    pub async fn finish(self) -> PushReport {
        let PendingPush {
            deadline,
            mut report,
            waiting,
        } = self;
        // Every invocation is queued already: waiting for them one after another, against one
        // deadline, takes no longer than waiting for all at once.
        for Waiting {
            connection,
            invocation_id,
            completion,
            _slot,
            _span,
        } in waiting
        {
            let id = connection.id.clone();
            match tokio::time::timeout_at(deadline, completion).await {
                Ok(Ok(CompletionOutcome::Result(result))) => {
                    report.delivered.push(AcknowledgedPush {
                        connection: id,
                        result,
                    });
                }
                Ok(Ok(CompletionOutcome::Error(error))) if error == NO_RESULT_ERROR => {
                    report.delivered.push(AcknowledgedPush {
                        connection: id,
                        result: None,
                    });
                }
                Ok(Ok(CompletionOutcome::Error(error))) => report.failed.push(DeliveryFailure {
                    connection: id,
                    reason: FailureReason::ClientError(error),
                }),
                Ok(Err(_connection_ended)) => report.failed.push(DeliveryFailure {
                    connection: id,
                    reason: FailureReason::Disconnected,
                }),
                Err(_elapsed) => {
                    connection.timed_out(&invocation_id);
                    report.timed_out.push(id);
                }
            }
        }
        for (outcome, count) in [
            ("delivered", report.delivered.len()),
            ("timed_out", report.timed_out.len()),
            ("failed", report.failed.len()),
            ("unacknowledged", report.unacknowledged.len()),
        ] {
            metrics::counter!("orderflow_hub_push_deliveries_total", "outcome" => outcome)
                .increment(count as u64);
        }
        tracing::debug!(
            delivered = report.delivered.len(),
            timed_out = report.timed_out.len(),
            failed = report.failed.len(),
            unacknowledged = report.unacknowledged.len(),
            not_connected = report.not_connected.len(),
            "push finished"
        );
        report
    }
}
