//! The hub's side of the users' durable inbox ([`PushInbox`]): what the relay records before
//! it acknowledges the broker, what a connection's acknowledgement settles, and what a
//! connecting user is replayed.
//!
//! Guarantees:
//! - what the relay records is written by the recorder of `inbox_recording`, beside the
//!   pushes going out live;
//! - a push a connection of its user acknowledged (a completion with a result, without one,
//!   or the JS client's "no result" error) is marked acknowledged for that user
//!   ([`acknowledge_delivered`]); a failure to mark it leaves it pending: it is delivered
//!   again (at least once, same `messageId`);
//! - [`replay`] starts, for a connection that has just completed its handshake, the replay
//!   of its user's pending pushes, oldest first, once the pushes being recorded when it
//!   connected are durable (waiting at most [`CATCH_UP_PATIENCE`]; one still not recorded
//!   then reaches the user at a later connection), [`REPLAY_WINDOW`] at a time (so the
//!   connection's outgoing buffer is never overrun): each window is awaited, its
//!   acknowledged pushes marked, and the replay stops at the first window a push of which
//!   timed out or whose connection went away (what is left stays pending for the next
//!   connection). Pushes that arrive meanwhile go out live alongside: a client may see a
//!   push twice, with the same `messageId`;
//! - pushes past the inbox's bounds are counted in
//!   `orderflow_inbox_dropped_total{reason="count"|"age"}`; replayed pushes in
//!   `orderflow_inbox_replayed_total`. [`spawn_upkeep`] deletes entries past the age bound
//!   every [`PRUNE_INTERVAL`] and sets `orderflow_inbox_pending`, the pending entries of all
//!   users, every [`DEPTH_INTERVAL`].

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use orderflow_app::ports::PushInbox;
use tokio::task::JoinHandle;
use tracing::Instrument;
use uuid::Uuid;

use crate::HubConfig;
use crate::handle::{ConnectionHandle, Invoked};
use crate::hub::{HubState, PUSH_UPDATE_METHOD};
use crate::protocol::{CompletionOutcome, NO_RESULT_ERROR};
use crate::report::PushReport;

/// Pushes replayed to a connection before their acknowledgements are awaited.
pub(crate) const REPLAY_WINDOW: usize = 64;
/// How often entries past the age bound are deleted.
pub(crate) const PRUNE_INTERVAL: Duration = Duration::from_secs(60);
/// How often the inbox's depth is read (a count over the pending entries' partial index).
pub(crate) const DEPTH_INTERVAL: Duration = Duration::from_secs(15);
/// How long a connecting user's replay waits for the pushes being recorded right then.
pub(crate) const CATCH_UP_PATIENCE: Duration = Duration::from_secs(5);

/// Whether a completion acknowledges the push it answers.
pub(crate) fn acknowledges(outcome: &CompletionOutcome) -> bool {
    match outcome {
        CompletionOutcome::Result(_) => true,
        CompletionOutcome::Error(error) => error == NO_RESULT_ERROR,
    }
}

/// Marks `message_id` acknowledged for every subscriber one of whose connections acknowledged
/// it (an admin who got it only because admins get every push acknowledges nothing here).
pub(crate) async fn acknowledge_delivered(
    inbox: &dyn PushInbox,
    message_id: Uuid,
    subscribers: &[String],
    report: &PushReport,
) {
    let users: HashSet<&str> = report
        .delivered
        .iter()
        .map(|delivery| delivery.connection.user_id.as_str())
        .filter(|user_id| subscribers.iter().any(|subscriber| subscriber == user_id))
        .collect();
    for user_id in users {
        if let Err(error) = inbox.acknowledge(user_id, &[message_id]).await {
            tracing::warn!(%error, %message_id, "cannot mark a push acknowledged; it stays pending");
        }
    }
}

/// Starts replaying the pending pushes of `connection`'s user to it.
pub(crate) fn replay(hub: &HubState, connection: &Arc<ConnectionHandle>) {
    let Some(inbox) = hub.inbox.clone() else {
        return;
    };
    let connection = connection.clone();
    let recording = hub.recording.clone();
    let replaying = async move {
        if !recording.caught_up(CATCH_UP_PATIENCE).await {
            tracing::warn!("pushes being recorded in the inbox are late; replaying what is there");
        }
        replay_all(inbox, connection, HubConfig::DEFAULT_ACK_TIMEOUT).await;
    };
    tokio::spawn(replaying.in_current_span());
}

async fn replay_all(
    inbox: Arc<dyn PushInbox>,
    connection: Arc<ConnectionHandle>,
    ack_timeout: Duration,
) {
    let user_id = connection.id.user_id.as_str();
    let entries = match inbox.pending(user_id, inbox.bounds().max_per_user).await {
        Ok(entries) => entries,
        Err(error) => {
            tracing::warn!(%error, "cannot read the user's inbox; nothing replayed");
            return;
        }
    };
    if entries.is_empty() {
        return;
    }
    tracing::info!(
        pending = entries.len(),
        "replaying the user's missed pushes"
    );
    let mut replayed = 0_u64;
    for window in entries.chunks(REPLAY_WINDOW) {
        let mut waiting = Vec::with_capacity(window.len());
        let mut whole = true;
        for entry in window {
            match connection.invoke(PUSH_UPDATE_METHOD, &entry.argument, true) {
                Ok(Invoked::Awaiting {
                    invocation_id,
                    completion,
                }) => waiting.push((entry.message_id, invocation_id, completion)),
                // A client without client results: written, never known to have arrived.
                Ok(Invoked::Sent) => {}
                Err(_reason) => {
                    whole = false;
                    break;
                }
            }
        }
        replayed += waiting.len() as u64;
        let deadline = tokio::time::Instant::now() + ack_timeout;
        let mut acknowledged = Vec::with_capacity(waiting.len());
        for (message_id, invocation_id, completion) in waiting {
            match tokio::time::timeout_at(deadline, completion).await {
                Ok(Ok(outcome)) if acknowledges(&outcome) => acknowledged.push(message_id),
                Ok(Ok(_client_error)) => {}
                Ok(Err(_connection_ended)) => whole = false,
                Err(_elapsed) => {
                    connection.timed_out(&invocation_id);
                    whole = false;
                }
            }
        }
        if let Err(error) = inbox.acknowledge(user_id, &acknowledged).await {
            tracing::warn!(%error, "cannot mark replayed pushes acknowledged; they stay pending");
        }
        if !whole {
            break;
        }
    }
    metrics::counter!("orderflow_inbox_replayed_total").increment(replayed);
}

/// Deletes entries past the age bound now and every [`PRUNE_INTERVAL`], and reads the
/// inbox's depth into `orderflow_inbox_pending` now and every [`DEPTH_INTERVAL`]; abort the
/// handle to stop.
pub(crate) fn spawn_upkeep(inbox: Arc<dyn PushInbox>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut prune_every = tokio::time::interval(PRUNE_INTERVAL);
        prune_every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut depth_every = tokio::time::interval(DEPTH_INTERVAL);
        depth_every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = prune_every.tick() => match inbox.prune().await {
                    Ok(pruned) => count_dropped("age", pruned.dropped_by_age),
                    Err(error) => tracing::warn!(%error, "cannot prune the push inbox; will retry"),
                },
                _ = depth_every.tick() => match inbox.depth().await {
                    Ok(depth) => metrics::gauge!("orderflow_inbox_pending").set(depth as f64),
                    Err(error) => tracing::warn!(%error, "cannot read the push inbox's depth"),
                },
            }
        }
    })
}

pub(crate) fn count_dropped(reason: &'static str, dropped: u64) {
    metrics::counter!("orderflow_inbox_dropped_total", "reason" => reason).increment(dropped);
}
