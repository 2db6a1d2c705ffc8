//! What every bus adapter must do, as tests that read like the contract of
//! `orderflow_app::ports::bus`.

use std::collections::BTreeSet;
use std::time::Duration;

use orderflow_app::messaging::Deduplicator;
use orderflow_app::ports::bus::{BusError, Message};
use uuid::Uuid;

use crate::backends::Backend;
use crate::support::{message, next, nothing_within};

const QUIET: Duration = Duration::from_millis(500);

pub async fn a_published_message_arrives_with_its_properties_intact(backend: &Backend) {
    let mut subscription = backend
        .bus
        .subscribe(backend.shared("intact", &["push.order-confirmed"]))
        .await
        .unwrap();
    let sent = Message::json(
        "PushUpdateIntegrationMessage",
        "push.order-confirmed",
        &serde_json::json!({ "subscriberIds": ["alice"], "payload": { "orderId": "o-1" } }),
    )
    .unwrap()
    .with_correlation_id(Uuid::new_v4())
    .with_header("user", "alice")
    .with_header("causation-id", Uuid::new_v4().to_string());

    backend.bus.publish(sent.clone()).await.unwrap();

    let delivery = next(&mut subscription).await;
    assert_eq!(delivery.message, sent);
    assert!(!delivery.redelivered);
    assert!(!delivery.is_request());
    delivery.ack().await.unwrap();
    nothing_within(&mut subscription, QUIET).await;
}

pub async fn a_batch_arrives_in_order(backend: &Backend) {
    let mut subscription = backend
        .bus
        .subscribe(backend.shared("batch", &["batch.*"]))
        .await
        .unwrap();
    let batch: Vec<Message> = (0..20).map(|i| message(&format!("batch.{i}"))).collect();

    backend.bus.publish_batch(batch.clone()).await.unwrap();

    for sent in &batch {
        let delivery = next(&mut subscription).await;
        assert_eq!(delivery.message.id, sent.id);
        delivery.ack().await.unwrap();
    }
}

pub async fn topic_patterns_route_like_an_amqp_topic_exchange(backend: &Backend) {
    let mut one_word = backend
        .bus
        .subscribe(backend.exclusive(&["orders.*.confirmed", "end"]))
        .await
        .unwrap();
    let mut below = backend
        .bus
        .subscribe(backend.exclusive(&["orders.#", "end"]))
        .await
        .unwrap();
    let mut ending = backend
        .bus
        .subscribe(backend.exclusive(&["#.cancelled", "end"]))
        .await
        .unwrap();
    for key in [
        "orders.1.confirmed",
        "orders.1.2.confirmed",
        "orders",
        "payments.cancelled",
        "orders.1.cancelled",
        "end",
    ] {
        backend.bus.publish(message(key)).await.unwrap();
    }

    assert_eq!(keys_until_end(&mut one_word).await, ["orders.1.confirmed"]);
    assert_eq!(
        keys_until_end(&mut below).await,
        [
            "orders.1.confirmed",
            "orders.1.2.confirmed",
            "orders",
            "orders.1.cancelled"
        ]
    );
    assert_eq!(
        keys_until_end(&mut ending).await,
        ["payments.cancelled", "orders.1.cancelled"]
    );
}

async fn keys_until_end(
    subscription: &mut orderflow_app::ports::bus::QueueSubscription,
) -> Vec<String> {
    let mut keys = Vec::new();
    loop {
        let delivery = next(subscription).await;
        let key = delivery.message.routing_key.clone();
        delivery.ack().await.unwrap();
        if key == "end" {
            return keys;
        }
        keys.push(key);
    }
}

pub async fn every_exclusive_queue_gets_its_own_copy(backend: &Backend) {
    let mut hub_a = backend
        .bus
        .subscribe(backend.exclusive(&["push.#"]))
        .await
        .unwrap();
    let mut hub_b = backend
        .bus
        .subscribe(backend.exclusive(&["push.#"]))
        .await
        .unwrap();
    assert_ne!(hub_a.queue(), hub_b.queue());
    let sent = message("push.order-confirmed");

    backend.bus.publish(sent.clone()).await.unwrap();

    for hub in [&mut hub_a, &mut hub_b] {
        let delivery = next(hub).await;
        assert_eq!(delivery.message.id, sent.id);
        delivery.ack().await.unwrap();
        nothing_within(hub, QUIET).await;
    }
}

pub async fn competing_consumers_share_the_work_without_duplicates(backend: &Backend) {
    let spec = backend.shared("work", &["work.#"]).with_prefetch(1);
    let mut workers = Vec::new();
    for _ in 0..2 {
        let mut subscription = backend.bus.subscribe(spec.clone()).await.unwrap();
        workers.push(tokio::spawn(async move {
            let mut handled = Vec::new();
            let idle = Duration::from_secs(2);
            while let Ok(Some(delivery)) = tokio::time::timeout(idle, subscription.next()).await {
                tokio::time::sleep(Duration::from_millis(20)).await;
                handled.push(delivery.message.id);
                delivery.ack().await.unwrap();
            }
            handled
        }));
    }
    let sent: Vec<Message> = (0..20).map(|_| message("work.item")).collect();
    backend.bus.publish_batch(sent.clone()).await.unwrap();

    let mut handled = Vec::new();
    for worker in workers {
        let share = worker.await.unwrap();
        assert!(!share.is_empty(), "a worker got nothing");
        handled.extend(share);
    }
    let unique: BTreeSet<Uuid> = handled.iter().copied().collect();
    assert_eq!(unique.len(), handled.len(), "a message was handled twice");
    assert_eq!(unique, sent.iter().map(|m| m.id).collect());
}

pub async fn a_shared_queue_keeps_messages_while_no_one_consumes(backend: &Backend) {
    let spec = backend.shared("durable", &["kept.#"]);
    drop(backend.bus.subscribe(spec.clone()).await.unwrap());
    let sent = message("kept.for-later");

    backend.bus.publish(sent.clone()).await.unwrap();

    let mut subscription = backend.bus.subscribe(spec).await.unwrap();
    let delivery = next(&mut subscription).await;
    assert_eq!(delivery.message.id, sent.id);
    delivery.ack().await.unwrap();
}

pub async fn a_nack_with_requeue_redelivers_the_message_flagged_redelivered(backend: &Backend) {
    let mut subscription = backend
        .bus
        .subscribe(backend.shared("requeue", &["retry.#"]))
        .await
        .unwrap();
    let sent = message("retry.me");
    backend.bus.publish(sent.clone()).await.unwrap();

    let first = next(&mut subscription).await;
    assert!(!first.redelivered);
    first.nack(true).await.unwrap();

    let again = next(&mut subscription).await;
    assert_eq!(again.message, sent);
    assert!(again.redelivered);
    again.ack().await.unwrap();
    nothing_within(&mut subscription, QUIET).await;
}

pub async fn a_delivery_dropped_unsettled_comes_back(backend: &Backend) {
    let mut subscription = backend
        .bus
        .subscribe(backend.shared("dropped", &["drop.#"]))
        .await
        .unwrap();
    let sent = message("drop.me");
    backend.bus.publish(sent.clone()).await.unwrap();

    drop(next(&mut subscription).await);

    let again = next(&mut subscription).await;
    assert_eq!(again.message.id, sent.id);
    assert!(again.redelivered);
    again.ack().await.unwrap();
}

pub async fn rejected_and_unrequeued_messages_are_dead_lettered(backend: &Backend) {
    let mut subscription = backend
        .bus
        .subscribe(backend.shared("poison", &["poison.#"]))
        .await
        .unwrap();
    let rejected = message("poison.rejected");
    let nacked = message("poison.nacked");
    backend.bus.publish(rejected.clone()).await.unwrap();
    backend.bus.publish(nacked.clone()).await.unwrap();

    next(&mut subscription).await.reject().await.unwrap();
    next(&mut subscription).await.nack(false).await.unwrap();

    let dead: BTreeSet<Uuid> = backend.dead_letters(2).await.iter().map(|m| m.id).collect();
    assert_eq!(dead, BTreeSet::from([rejected.id, nacked.id]));
    nothing_within(&mut subscription, QUIET).await;
}

pub async fn a_message_requeued_past_the_delivery_limit_is_dead_lettered(backend: &Backend) {
    let spec = backend
        .shared("limited", &["limited.#"])
        .with_delivery_limit(2);
    requeue_until_dead_lettered(backend, spec).await;
}

pub async fn an_exclusive_queue_enforces_the_delivery_limit_too(backend: &Backend) {
    let spec = backend.exclusive(&["limited.#"]).with_delivery_limit(2);
    requeue_until_dead_lettered(backend, spec).await;
}

/// With a limit of 2: delivered, requeued twice, delivered a third time,
/// then the third requeue dead-letters it.
async fn requeue_until_dead_lettered(
    backend: &Backend,
    spec: orderflow_app::ports::bus::SubscriptionSpec,
) {
    let mut subscription = backend.bus.subscribe(spec).await.unwrap();
    let sent = message("limited.poison");
    backend.bus.publish(sent.clone()).await.unwrap();

    for attempt in 0..3 {
        let delivery = next(&mut subscription).await;
        assert_eq!(delivery.message.id, sent.id);
        assert_eq!(delivery.redelivered, attempt > 0);
        delivery.nack(true).await.unwrap();
    }

    nothing_within(&mut subscription, QUIET).await;
    let dead = backend.dead_letters(1).await;
    assert_eq!(dead.iter().map(|m| m.id).collect::<Vec<_>>(), [sent.id]);
}

pub async fn prefetch_bounds_the_unsettled_deliveries(backend: &Backend) {
    let mut subscription = backend
        .bus
        .subscribe(backend.shared("prefetch", &["prefetch.#"]).with_prefetch(2))
        .await
        .unwrap();
    let sent: Vec<Message> = (0..5).map(|_| message("prefetch.item")).collect();
    backend.bus.publish_batch(sent.clone()).await.unwrap();

    let first = next(&mut subscription).await;
    let second = next(&mut subscription).await;
    nothing_within(&mut subscription, QUIET).await;

    first.ack().await.unwrap();
    let third = next(&mut subscription).await;
    nothing_within(&mut subscription, QUIET).await;

    assert_eq!(
        [&second, &third].map(|d| d.message.id),
        [sent[1].id, sent[2].id]
    );
    second.ack().await.unwrap();
    third.ack().await.unwrap();
    for expected in &sent[3..] {
        let delivery = next(&mut subscription).await;
        assert_eq!(delivery.message.id, expected.id);
        delivery.ack().await.unwrap();
    }
}

pub async fn a_request_gets_the_reply_correlated_to_it(backend: &Backend) {
    let mut requests = backend
        .bus
        .subscribe(backend.shared("create-order", &["commands.create-order"]))
        .await
        .unwrap();
    let responder = tokio::spawn(async move {
        while let Some(delivery) = requests.next().await {
            assert!(delivery.is_request());
            let command: serde_json::Value = delivery.message.decode().unwrap();
            let reply = Message::json(
                "CreateOrderResponse",
                "",
                &serde_json::json!({ "echo": command }),
            )
            .unwrap();
            delivery.reply(reply).await.unwrap();
            delivery.ack().await.unwrap();
        }
    });
    let bus = backend.bus.clone();
    let clients = (0..8).map(|i| {
        let bus = bus.clone();
        tokio::spawn(async move {
            let request = Message::json(
                "CreateOrderCommand",
                "commands.create-order",
                &serde_json::json!({ "n": i }),
            )
            .unwrap();
            let reply = bus
                .request(request.clone(), Duration::from_secs(10))
                .await
                .unwrap();
            assert_eq!(reply.kind, "CreateOrderResponse");
            assert_eq!(reply.correlation_id, Some(request.id));
            let body: serde_json::Value = reply.decode().unwrap();
            assert_eq!(body, serde_json::json!({ "echo": { "n": i } }));
        })
    });
    for client in clients.collect::<Vec<_>>() {
        client.await.unwrap();
    }
    responder.abort();
    let _ = responder.await;
}

pub async fn a_request_without_a_reply_times_out(backend: &Backend) {
    let mut requests = backend
        .bus
        .subscribe(backend.shared("silent", &["commands.silent"]))
        .await
        .unwrap();
    let timeout = Duration::from_millis(300);
    let started = tokio::time::Instant::now();

    let outcome = backend
        .bus
        .request(message("commands.silent"), timeout)
        .await;

    assert_eq!(outcome, Err(BusError::Timeout(timeout)));
    assert!(started.elapsed() < timeout + Duration::from_secs(1));
    let unanswered = next(&mut requests).await;
    assert!(unanswered.is_request());
    // A late reply is dropped, not an error.
    unanswered.reply(message("late")).await.unwrap();
    unanswered.ack().await.unwrap();
}

pub async fn a_request_no_queue_is_bound_for_is_unroutable(backend: &Backend) {
    let outcome = backend
        .bus
        .request(message("commands.nobody"), Duration::from_secs(5))
        .await;
    assert_eq!(outcome, Err(BusError::Unroutable("commands.nobody".into())));
}

pub async fn a_mandatory_message_no_queue_is_bound_for_is_unroutable(backend: &Backend) {
    let outcome = backend
        .bus
        .publish(message("push.nobody").mandatory())
        .await;
    assert_eq!(outcome, Err(BusError::Unroutable("push.nobody".into())));
    // Not mandatory: dropped, as AMQP does.
    backend.bus.publish(message("push.nobody")).await.unwrap();
}

pub async fn replying_to_a_message_that_is_not_a_request_is_refused(backend: &Backend) {
    let mut subscription = backend
        .bus
        .subscribe(backend.shared("events", &["events.#"]))
        .await
        .unwrap();
    backend
        .bus
        .publish(message("events.created"))
        .await
        .unwrap();

    let delivery = next(&mut subscription).await;
    assert_eq!(
        delivery.reply(message("reply")).await,
        Err(BusError::NotARequest)
    );
    delivery.ack().await.unwrap();
}

pub async fn the_deduplicator_drops_a_message_delivered_twice(backend: &Backend) {
    let mut subscription = backend
        .bus
        .subscribe(backend.shared("dedup", &["dedup.#"]))
        .await
        .unwrap();
    let sent = message("dedup.once");
    // A publisher that retried after a lost confirm sends the same id twice.
    backend.bus.publish(sent.clone()).await.unwrap();
    backend.bus.publish(sent.clone()).await.unwrap();
    let mut deduplicator = Deduplicator::new(1_000, Duration::from_secs(600));

    let mut handled = Vec::new();
    for _ in 0..2 {
        let delivery = next(&mut subscription).await;
        if !deduplicator.is_duplicate(delivery.message.id) {
            handled.push(delivery.message.id);
            deduplicator.record(delivery.message.id);
        }
        delivery.ack().await.unwrap();
    }

    assert_eq!(handled, [sent.id]);
}

pub async fn a_queue_cannot_be_both_shared_and_exclusive(backend: &Backend) {
    let shared = backend.shared("both", &["both.#"]);
    let _subscription = backend.bus.subscribe(shared.clone()).await.unwrap();
    let mut exclusive = backend.exclusive(&["both.#"]);
    exclusive.queue = shared.queue;

    let outcome = backend.bus.subscribe(exclusive).await;

    assert!(matches!(outcome, Err(BusError::Rejected(_))), "{outcome:?}");
}
