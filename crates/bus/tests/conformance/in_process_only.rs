//! What only the in-process bus can show: its bounded queues and its
//! inspectable dead letters.

use std::time::Duration;

use orderflow_app::ports::bus::{BusError, MessagePublisher, MessageSubscriber, SubscriptionSpec};
use orderflow_bus::{DeadLetterReason, InProcessBus, InProcessConfig};

use crate::support::{message, next};

#[tokio::test]
async fn a_full_queue_makes_the_publisher_wait_until_a_message_is_settled() {
    let bus = InProcessBus::new(InProcessConfig {
        queue_capacity: 2,
        ..InProcessConfig::default()
    });
    let mut subscription = bus
        .subscribe(SubscriptionSpec::shared("bounded", &["#"]).with_prefetch(1))
        .await
        .unwrap();
    bus.publish(message("a")).await.unwrap();
    bus.publish(message("b")).await.unwrap();

    let publisher = bus.clone();
    let mut third = tokio::spawn(async move { publisher.publish(message("c")).await });
    assert!(
        tokio::time::timeout(Duration::from_millis(300), &mut third)
            .await
            .is_err(),
        "published into a full queue"
    );

    next(&mut subscription).await.ack().await.unwrap();
    tokio::time::timeout(Duration::from_secs(5), third)
        .await
        .expect("the publisher is still waiting")
        .unwrap()
        .unwrap();
    for key in ["b", "c"] {
        let delivery = next(&mut subscription).await;
        assert_eq!(delivery.message.routing_key, key);
        delivery.ack().await.unwrap();
    }
}

#[tokio::test]
async fn dead_letters_say_which_queue_and_why() {
    let bus = InProcessBus::default();
    let mut subscription = bus
        .subscribe(SubscriptionSpec::shared("orders", &["#"]).with_delivery_limit(0))
        .await
        .unwrap();
    bus.publish(message("rejected")).await.unwrap();
    bus.publish(message("requeued")).await.unwrap();

    next(&mut subscription).await.reject().await.unwrap();
    next(&mut subscription).await.nack(true).await.unwrap();

    let reasons: Vec<(String, String, DeadLetterReason)> = bus
        .dead_letters()
        .into_iter()
        .map(|d| (d.queue, d.message.routing_key, d.reason))
        .collect();
    assert_eq!(
        reasons,
        [
            (
                "orders".into(),
                "rejected".into(),
                DeadLetterReason::Rejected
            ),
            (
                "orders".into(),
                "requeued".into(),
                DeadLetterReason::DeliveryLimit
            ),
        ]
    );
}

#[tokio::test]
async fn an_exclusive_queue_goes_away_with_its_subscriber() {
    let bus = InProcessBus::default();
    let subscription = bus
        .subscribe(SubscriptionSpec::exclusive("hub", &["push.#"]))
        .await
        .unwrap();
    drop(subscription);

    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        match bus.publish(message("push.update").mandatory()).await {
            Err(BusError::Unroutable(_)) => return,
            outcome => {
                assert!(outcome.is_ok());
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "the queue is still there"
                );
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}
