//! Small helpers shared by the tests: bounded waits, never open-ended ones.

use std::time::Duration;

use orderflow_app::ports::bus::{Delivery, Message, QueueSubscription};

/// Long enough for a loaded machine, short enough to fail a hung test.
pub const PATIENCE: Duration = Duration::from_secs(15);

/// The next delivery, or a failed test.
pub async fn next(subscription: &mut QueueSubscription) -> Delivery {
    tokio::time::timeout(PATIENCE, subscription.next())
        .await
        .unwrap_or_else(|_| {
            panic!(
                "no delivery on {} within {PATIENCE:?}",
                subscription.queue()
            )
        })
        .expect("the subscription ended")
}

/// Asserts that nothing arrives for `quiet`.
pub async fn nothing_within(subscription: &mut QueueSubscription, quiet: Duration) {
    if let Ok(Some(delivery)) = tokio::time::timeout(quiet, subscription.next()).await {
        panic!(
            "unexpected delivery {} ({}) on {}",
            delivery.message.id,
            delivery.message.routing_key,
            subscription.queue()
        );
    }
}

pub fn message(routing_key: &str) -> Message {
    Message::json(
        "TestMessage",
        routing_key,
        &serde_json::json!({ "routingKey": routing_key }),
    )
    .unwrap()
}
