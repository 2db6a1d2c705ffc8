//! The push hub: the registry of live connections and the two things callers do with it,
//! push an update and shut down.
//!
//! Guarantees:
//! - [`PushHub::start_push`] queues `PushUpdate` with the caller's one argument on every live
//!   connection of every distinct user asked for, and on every live admin connection (admins
//!   see every order, so their lists follow every change), before it returns and without
//!   waiting for anything: pushes started one after another reach each connection in that
//!   order, and a slow or frozen connection never delays the queuing on another;
//! - [`PendingPush::finish`] resolves once each awaited connection has answered or the
//!   acknowledgement timeout has passed — never later, whatever the clients do; pushes are
//!   acknowledged concurrently, up to [`HubConfig::max_pending_acknowledgements`] awaited at
//!   once across the hub;
//! - an invocation is a client-result invocation (with an `invocationId`), except to a
//!   connection taken for a client without client results (see `handle`) or past the hub's
//!   bound: those are written at once without an id and reported `unacknowledged`;
//! - a completion with a result, without one, or with the JS client's "Client didn't provide
//!   a result." error counts as delivered; each connection's outcome is counted in
//!   `orderflow_hub_push_deliveries_total{outcome}` (`delivered`, `timed_out`, `failed`, and
//!   `unacknowledged`: written to a client that does not answer client results, so never
//!   known to have arrived);
//! - [`PushHub::shutdown`] sends every connection a Close with `allowReconnect: true`, refuses
//!   new ones, and waits (at most [`HubConfig::shutdown_grace`]) for them to close.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use orderflow_app::TraceContext;
use orderflow_app::ports::PushInbox;
use orderflow_auth::TokenValidator;
use serde_json::Value;

use crate::HubConfig;
use crate::handle::{CloseCause, ConnectionHandle, Invoked};
use crate::inbox_recording::RecordingProgress;
use crate::negotiate::Negotiations;
use crate::protocol::{CompletionOutcome, NO_RESULT_ERROR};
use crate::registry::Registry;
use crate::report::{AcknowledgedPush, DeliveryFailure, FailureReason, PushReport};
use crate::stateful::Resumptions;
use tokio::sync::oneshot;

/// The client method every push invokes.
pub const PUSH_UPDATE_METHOD: &str = "PushUpdate";

/// The push hub. Cheap to clone: clones share the registry.
#[derive(Debug, Clone)]
pub struct PushHub {
    pub(crate) inner: Arc<HubState>,
}

/// What every clone of a [`PushHub`] shares.
#[derive(Debug)]
pub(crate) struct HubState {
    pub(crate) config: HubConfig,
    /// Turns the bearer token of negotiate and connect into a user.
    pub(crate) validator: TokenValidator,
    /// Live connections by user.
    pub(crate) registry: Registry,
    /// Negotiated connections waiting for their WebSocket.
    pub(crate) negotiations: Negotiations,
    /// Connections with stateful reconnect, by connection token.
    pub(crate) resumptions: Resumptions,
    /// Acknowledgements awaited right now, across the hub.
    pending_acknowledgements: Arc<AcknowledgementBudget>,
    /// The users' durable inbox, when pushes are kept for users who miss them.
    pub(crate) inbox: Option<Arc<dyn PushInbox>>,
    /// How far the relay's recording of pushes in the inbox has come.
    pub(crate) recording: Arc<RecordingProgress>,
}

/// Counts the acknowledgements awaited across the hub, up to a bound.
#[derive(Debug)]
struct AcknowledgementBudget {
    awaited: AtomicUsize,
    bound: usize,
}

impl AcknowledgementBudget {
    /// A slot for one more awaited acknowledgement, if the bound allows it.
    fn take(self: &Arc<Self>) -> Option<AcknowledgementSlot> {
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
struct AcknowledgementSlot(Arc<AcknowledgementBudget>);

impl Drop for AcknowledgementSlot {
    fn drop(&mut self) {
        self.0.awaited.fetch_sub(1, Ordering::AcqRel);
    }
}

impl PushHub {
    /// A hub that authenticates clients with `validator`, without an inbox: a push reaches
    /// only the connections live when it is relayed.
    pub fn new(validator: TokenValidator, config: HubConfig) -> Self {
        Self::build(validator, config, None)
    }

    /// A hub whose relay records every push in `inbox` before acknowledging the broker, and
    /// which replays a user's unacknowledged pushes when they connect (see `inbox`).
    pub fn with_inbox(
        validator: TokenValidator,
        config: HubConfig,
        inbox: Arc<dyn PushInbox>,
    ) -> Self {
        Self::build(validator, config, Some(inbox))
    }

    fn build(
        validator: TokenValidator,
        config: HubConfig,
        inbox: Option<Arc<dyn PushInbox>>,
    ) -> Self {
        let negotiations = Negotiations::new(
            config.negotiation_ttl,
            config.max_pending_negotiations,
            config.max_pending_negotiations_per_user,
        );
        let registry = Registry::new(config.max_connections, config.max_connections_per_user);
        let pending_acknowledgements = Arc::new(AcknowledgementBudget {
            awaited: AtomicUsize::new(0),
            bound: config.max_pending_acknowledgements,
        });
        Self {
            inner: Arc::new(HubState {
                config,
                validator,
                registry,
                negotiations,
                resumptions: Resumptions::default(),
                pending_acknowledgements,
                inbox,
                recording: Arc::default(),
            }),
        }
    }

    /// The users' durable inbox, if this hub keeps one.
    pub fn inbox(&self) -> Option<&Arc<dyn PushInbox>> {
        self.inner.inbox.as_ref()
    }

    /// The limits and timings in force.
    pub fn config(&self) -> &HubConfig {
        &self.inner.config
    }

    /// How many connections have completed their handshake and are still open.
    pub fn connection_count(&self) -> usize {
        self.inner.registry.live_count()
    }

    /// How many live connections `user_id` has.
    pub fn connections_of(&self, user_id: &str) -> usize {
        self.inner.registry.connections_of(user_id).len()
    }

    /// Invokes `PushUpdate(update)` on every live connection of `user_ids` and of every
    /// admin, and reports, per connection, whether it acknowledged within `ack_timeout`
    /// ([`HubConfig::DEFAULT_ACK_TIMEOUT`] is the usual choice). Duplicate user ids are
    /// pushed once.
    #[tracing::instrument(
        skip_all,
        fields(users = user_ids.len(), message_id = message_id(&update))
    )]
    pub async fn push(
        &self,
        user_ids: &[String],
        update: Value,
        ack_timeout: Duration,
    ) -> PushReport {
        self.start_push(user_ids, update, ack_timeout)
            .finish()
            .await
    }

    /// The first half of [`PushHub::push`]: queues the invocation on every
    /// connection now, before returning, so pushes started one after another
    /// reach each connection in that order even when their acknowledgements
    /// are awaited concurrently. [`PendingPush::finish`] waits for them.
    pub fn start_push(
        &self,
        user_ids: &[String],
        update: Value,
        ack_timeout: Duration,
    ) -> PendingPush {
        self.start_push_text(user_ids, &update.to_string(), ack_timeout)
    }

    /// [`PushHub::start_push`] with the update already written as JSON text.
    pub(crate) fn start_push_text(
        &self,
        user_ids: &[String],
        argument: &str,
        ack_timeout: Duration,
    ) -> PendingPush {
        let deadline = tokio::time::Instant::now() + ack_timeout;
        let mut report = PushReport::default();
        let mut waiting = Vec::new();
        let mut seen = HashSet::new();
        for user_id in user_ids {
            if !seen.insert(user_id.as_str()) {
                continue;
            }
            let connections = self.inner.registry.connections_of(user_id);
            if connections.is_empty() {
                report.not_connected.push(user_id.clone());
                continue;
            }
            for connection in connections {
                self.queue_push(connection, argument, &mut report, &mut waiting);
            }
        }
        // Admins see every order, so every push reaches their connections too (once per
        // connection, however many of the users asked for they are).
        for connection in self.inner.registry.seeing_every_order() {
            if !seen.contains(connection.id.user_id.as_str()) {
                self.queue_push(connection, argument, &mut report, &mut waiting);
            }
        }
        PendingPush {
            deadline,
            report,
            waiting,
        }
    }

    /// Queues `PushUpdate(argument)` on `connection`, awaited if the hub's bound allows.
    fn queue_push(
        &self,
        connection: Arc<ConnectionHandle>,
        argument: &str,
        report: &mut PushReport,
        waiting: &mut Vec<Waiting>,
    ) {
        let slot = self.inner.pending_acknowledgements.take();
        // A child of the current span (the relayed delivery's), open until the
        // connection answers; its context travels in the invocation's headers.
        let span = tracing::info_span!(
            "push to connection",
            otel.name = "PushUpdate",
            otel.kind = "producer",
            connection = %connection.id.connection_id,
        );
        let trace = TraceContext::of_span(&span);
        match connection.invoke_traced(PUSH_UPDATE_METHOD, argument, slot.is_some(), &trace) {
            Ok(Invoked::Awaiting {
                invocation_id,
                completion,
            }) => waiting.push(Waiting {
                connection,
                invocation_id,
                completion,
                _slot: slot,
                _span: span,
            }),
            Ok(Invoked::Sent) => report.unacknowledged.push(connection.id.clone()),
            Err(reason) => report.failed.push(DeliveryFailure {
                connection: connection.id.clone(),
                reason,
            }),
        }
    }
}

/// One queued invocation: its connection, id and completion, holding its place in the
/// hub's bound on awaited acknowledgements.
struct Waiting {
    connection: Arc<ConnectionHandle>,
    invocation_id: String,
    completion: oneshot::Receiver<CompletionOutcome>,
    _slot: Option<AcknowledgementSlot>,
    /// The invocation's span, ended when the connection answered or timed out.
    _span: tracing::Span,
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

impl PushHub {
    /// Sends every connection a Close with `allowReconnect: true`, refuses new negotiations
    /// and connections from now on, and waits up to [`HubConfig::shutdown_grace`] for the
    /// connections to close.
    pub async fn shutdown(&self) {
        let connections = self.inner.registry.begin_shutdown();
        self.inner.negotiations.clear();
        tracing::info!(connections = connections.len(), "push hub shutting down");
        for connection in &connections {
            connection.request_close(CloseCause::Shutdown);
        }
        let grace = self.inner.config.shutdown_grace;
        if tokio::time::timeout(grace, self.inner.registry.all_closed())
            .await
            .is_err()
        {
            tracing::warn!(
                still_open = self.inner.registry.live_count(),
                "connections did not close within the shutdown grace period"
            );
        }
    }

    /// Whether [`Self::shutdown`] was called.
    pub fn is_shutting_down(&self) -> bool {
        self.inner.registry.is_shutting_down()
    }
}

fn message_id(update: &Value) -> &str {
    update
        .get("messageId")
        .and_then(Value::as_str)
        .unwrap_or("")
}
