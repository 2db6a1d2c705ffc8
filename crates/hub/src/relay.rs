//! The relay from the broker to connected users: consumes
//! `PushUpdateIntegrationMessage`s through this hub instance's own queue
//! (bound to `push-update.#`, so every instance sees every update and users
//! connected anywhere are reached). The queue is durable, not exclusive, so
//! updates published while the broker restarts and the relay reconnects wait
//! in it instead of being dropped as unroutable; the broker deletes it
//! ten minutes after this instance is gone. The relay pushes each to its subscribers'
//! live connections, and acknowledges the broker only once every connection
//! has answered or timed out. Repeated message ids within the window are
//! acknowledged without pushing again; a message that does not decode is
//! rejected to the dead-letter queue.

use std::sync::Arc;
use std::time::Duration;

use orderflow_app::messaging::Deduplicator;
use orderflow_app::ports::bus::{BusError, Delivery, MessageSubscriber, SubscriptionSpec};
use orderflow_app::push::{PUSH_UPDATE_ROUTING_PREFIX, PushUpdateIntegrationMessage};

use crate::PushHub;

/// Messages remembered for de-duplication.
const DEDUP_CAPACITY: usize = 100_000;
/// How long a message id is remembered.
const DEDUP_WINDOW: Duration = Duration::from_secs(600);
/// How long this instance's queue outlives its last consumer.
const QUEUE_EXPIRY: Duration = Duration::from_secs(600);
/// Unacknowledged messages in flight per hub instance.
const PREFETCH: u16 = 64;

/// Subscribes this hub instance to push updates; errors only when the very
/// first subscription fails (the adapter reconnects by itself afterwards).
pub async fn start_push_relay(
    hub: PushHub,
    bus: Arc<dyn MessageSubscriber>,
    ack_timeout: Duration,
) -> Result<tokio::task::JoinHandle<()>, BusError> {
    let binding = format!("{PUSH_UPDATE_ROUTING_PREFIX}#");
    let spec = SubscriptionSpec::per_instance("push-hub", &[binding.as_str()], QUEUE_EXPIRY)
        .with_prefetch(PREFETCH);
    let mut subscription = bus.subscribe(spec).await?;
    Ok(tokio::spawn(async move {
        let mut seen = Deduplicator::new(DEDUP_CAPACITY, DEDUP_WINDOW);
        while let Some(delivery) = subscription.next().await {
            relay_one(&hub, delivery, &mut seen, ack_timeout).await;
        }
        tracing::info!("push relay stopped");
    }))
}

async fn relay_one(
    hub: &PushHub,
    delivery: Delivery,
    seen: &mut Deduplicator,
    ack_timeout: Duration,
) {
    let message: PushUpdateIntegrationMessage = match delivery.message.decode() {
        Ok(message) => message,
        Err(error) => {
            tracing::warn!(%error, message_id = %delivery.message.id, "undecodable push update, dead-lettering");
            if let Err(error) = delivery.reject().await {
                tracing::warn!(%error, "cannot reject a push update");
            }
            return;
        }
    };
    if seen.is_duplicate(message.message_id) {
        tracing::debug!(message_id = %message.message_id, "repeated push update skipped");
    } else {
        let report = hub
            .push(
                &message.subscriber_ids,
                message.push_update_argument(),
                ack_timeout,
            )
            .await;
        tracing::debug!(
            message_id = %message.message_id,
            delivered = report.delivered.len(),
            timed_out = report.timed_out.len(),
            "push update relayed"
        );
        seen.record(message.message_id);
    }
    if let Err(error) = delivery.ack().await {
        // The broker will redeliver; the de-duplicator drops the repeat.
        tracing::warn!(%error, "cannot acknowledge a push update");
    }
}
