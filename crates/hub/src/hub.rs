//! The push hub: the registry of live connections and the two things callers do with it,
//! push an update and shut down.
//!
//! Guarantees:
//! - [`PushHub::start_push`] queues `PushUpdate` with the caller's one argument on every live
//!   connection of every distinct user asked for, and on every live admin connection (admins
//!   see every order, so their lists follow every change), before it returns and without
//!   waiting for anything: pushes started one after another reach each connection in that
//!   order, and a slow or frozen connection never delays the queuing on another;
//! - its acknowledgements are collected by [`PendingPush::finish`] (`pending_push`), up to
//!   [`HubConfig::max_pending_acknowledgements`] awaited at once across the hub;
//! - an invocation is a client-result invocation (with an `invocationId`), except to a
//!   connection taken for a client without client results (see `handle`) or past the hub's
//!   bound: those are written at once without an id and reported `unacknowledged`;
//! - [`PushHub::shutdown`] sends every connection a Close with `allowReconnect: true`, refuses
//!   new ones, and waits (at most [`HubConfig::shutdown_grace`]) for them to close.

use std::cell::OnceCell;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use orderflow_app::TraceContext;
use orderflow_app::ports::PushInbox;
use orderflow_auth::TokenValidator;
use serde_json::Value;

use crate::HubConfig;
use crate::handle::{CloseCause, ConnectionHandle, Invoked};
use crate::inbox_recording::RecordingProgress;
use crate::negotiate::Negotiations;
use crate::pending_push::{AcknowledgementBudget, PendingPush, Waiting};
use crate::registry::Registry;
use crate::report::{DeliveryFailure, PushReport};
use crate::stateful::Resumptions;

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
        let pending_acknowledgements = Arc::new(AcknowledgementBudget::new(
            config.max_pending_acknowledgements,
        ));
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
        // The relayed delivery's context, which every push is a child of: read once, when
        // the first connection is found, not once per connection.
        let relayed = OnceCell::new();
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
                let relayed = relayed.get_or_init(TraceContext::current);
                self.queue_push(connection, argument, relayed, &mut report, &mut waiting);
            }
        }
        // Admins see every order, so every push reaches their connections too (once per
        // connection, however many of the users asked for they are).
        for connection in self.inner.registry.seeing_every_order() {
            if !seen.contains(connection.id.user_id.as_str()) {
                let relayed = relayed.get_or_init(TraceContext::current);
                self.queue_push(connection, argument, relayed, &mut report, &mut waiting);
            }
        }
        PendingPush::new(deadline, report, waiting)
    }

    /// Queues `PushUpdate(argument)` on `connection`, awaited if the hub's bound allows, in
    /// a span that continues `relayed`.
    fn queue_push(
        &self,
        connection: Arc<ConnectionHandle>,
        argument: &str,
        relayed: &TraceContext,
        report: &mut PushReport,
        waiting: &mut Vec<Waiting>,
    ) {
        let slot = self.inner.pending_acknowledgements.take();
        // A child of the relayed delivery's span, open until the connection answers; its
        // context travels in the invocation's headers.
        let span = orderflow_app::hop_span!(
            relayed,
            "push to connection",
            otel.name = %"PushUpdate",
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
