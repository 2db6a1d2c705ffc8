//! What only RabbitMQ can show: the AMQP properties on the wire, and
//! reconnection after the broker closed the connection (forced with
//! `rabbitmqctl close_connection` on this test's own connection only, so that
//! other users of the broker are not disturbed).

use std::process::Command;
use std::time::Duration;

use futures::StreamExt;
use lapin::options::{BasicConsumeOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{Connection, ConnectionProperties};
use orderflow_app::ports::bus::{
    BusError, MessagePublisher, MessageRequester, MessageSubscriber, QueueSubscription,
    SubscriptionSpec,
};
use orderflow_bus::{RabbitBus, RabbitConfig};
use uuid::Uuid;

use crate::backends::{Backend, amqp_url, rabbit_config, run_then_clean_up};
use crate::support::{PATIENCE, message, next};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_are_persistent_and_carry_their_ids_and_type() {
    let backend = Backend::rabbitmq().await;
    run_then_clean_up(&backend, async {
        let raw = Connection::connect(&amqp_url(), ConnectionProperties::default())
            .await
            .unwrap();
        let channel = raw.create_channel().await.unwrap();
        let queue = format!("test.raw.{}", Uuid::new_v4().simple());
        let exclusive = QueueDeclareOptions {
            exclusive: true,
            auto_delete: true,
            ..QueueDeclareOptions::default()
        };
        channel
            .queue_declare(queue.as_str().into(), exclusive, FieldTable::default())
            .await
            .unwrap();
        let exchange = backend.rabbit().config().exchange.clone();
        channel
            .queue_bind(
                queue.as_str().into(),
                exchange.as_str().into(),
                "raw.#".into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await
            .unwrap();
        let mut consumer = channel
            .basic_consume(
                queue.as_str().into(),
                "".into(),
                BasicConsumeOptions {
                    no_ack: true,
                    ..BasicConsumeOptions::default()
                },
                FieldTable::default(),
            )
            .await
            .unwrap();
        let sent = message("raw.check").with_correlation_id(Uuid::new_v4());

        backend.bus.publish(sent.clone()).await.unwrap();

        let delivery = tokio::time::timeout(PATIENCE, consumer.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        let properties = &delivery.properties;
        assert_eq!(properties.delivery_mode(), &Some(2));
        assert_eq!(
            properties.message_id().as_ref().map(|id| id.to_string()),
            Some(sent.id.to_string())
        );
        assert_eq!(
            properties
                .correlation_id()
                .as_ref()
                .map(|id| id.to_string()),
            sent.correlation_id.map(|id| id.to_string())
        );
        assert_eq!(
            properties.kind().as_ref().map(|kind| kind.to_string()),
            Some("TestMessage".to_owned())
        );
        assert_eq!(delivery.data, sent.body);
        let _ = raw.close(200, "done".into()).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_negative_publisher_confirm_is_a_rejected_publish() {
    let backend = Backend::rabbitmq().await;
    run_then_clean_up(&backend, async {
        // A queue that holds one message and refuses more: the broker nacks.
        let raw = Connection::connect(&amqp_url(), ConnectionProperties::default())
            .await
            .unwrap();
        let channel = raw.create_channel().await.unwrap();
        let queue = format!("test.full.{}", Uuid::new_v4().simple());
        let mut arguments = FieldTable::default();
        arguments.insert("x-max-length".into(), AMQPValue::LongLongInt(1));
        arguments.insert(
            "x-overflow".into(),
            AMQPValue::LongString("reject-publish".into()),
        );
        let exclusive = QueueDeclareOptions {
            exclusive: true,
            auto_delete: true,
            ..QueueDeclareOptions::default()
        };
        channel
            .queue_declare(queue.as_str().into(), exclusive, arguments)
            .await
            .unwrap();
        let exchange = backend.rabbit().config().exchange.clone();
        channel
            .queue_bind(
                queue.as_str().into(),
                exchange.as_str().into(),
                "full.#".into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await
            .unwrap();

        backend.bus.publish(message("full.first")).await.unwrap();
        let refused = backend.bus.publish(message("full.second")).await;

        assert!(matches!(refused, Err(BusError::Rejected(_))), "{refused:?}");
        let _ = raw.close(200, "done".into()).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consumers_publishers_and_requesters_resume_after_the_connection_is_killed() {
    let config = rabbit_config();
    let connection_name = config.connection_name.clone();
    let backend = Backend::rabbitmq_with(config).await;
    run_then_clean_up(&backend, async {
        let bus = backend.bus.clone();
        let mut shared = bus
            .subscribe(backend.shared("survivor", &["survive.#"]))
            .await
            .unwrap();
        let mut exclusive = bus
            .subscribe(backend.exclusive(&["survive.#"]))
            .await
            .unwrap();
        let mut requests = bus
            .subscribe(backend.shared("survivor-commands", &["commands.survive"]))
            .await
            .unwrap();
        let responder = tokio::spawn(async move {
            while let Some(delivery) = requests.next().await {
                let _ = delivery.reply(message("reply")).await;
                let _ = delivery.ack().await;
            }
        });
        bus.publish(message("survive.before")).await.unwrap();
        next(&mut shared).await.ack().await.unwrap();
        next(&mut exclusive).await.ack().await.unwrap();
        bus.request(message("commands.survive"), PATIENCE)
            .await
            .unwrap();

        let killed = close_connections_named(&connection_name);
        assert!(killed >= 1, "no connection named {connection_name} to kill");

        // No manual step: keep publishing until both consumers hear again.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        let (mut shared_back, mut exclusive_back) = (false, false);
        let mut publish_errors = Vec::new();
        while !(shared_back && exclusive_back) {
            assert!(
                tokio::time::Instant::now() < deadline,
                "not resumed: shared {shared_back}, exclusive {exclusive_back}, \
                 publish errors {publish_errors:?}"
            );
            if let Err(error) = bus.publish(message("survive.after")).await {
                assert!(matches!(error, BusError::Unavailable(_)), "{error:?}");
                publish_errors.push(error);
            }
            shared_back |= received_within(&mut shared, Duration::from_millis(200)).await;
            exclusive_back |= received_within(&mut exclusive, Duration::from_millis(200)).await;
        }
        let reply = loop {
            match bus
                .request(message("commands.survive"), Duration::from_secs(5))
                .await
            {
                Ok(reply) => break reply,
                Err(error) => {
                    assert!(error.is_retryable(), "{error:?}");
                    assert!(
                        tokio::time::Instant::now() < deadline,
                        "requests did not resume"
                    );
                }
            }
        };
        assert_eq!(reply.kind, "TestMessage");
        responder.abort();
        let _ = responder.await;
    })
    .await;
}

async fn received_within(subscription: &mut QueueSubscription, wait: Duration) -> bool {
    let mut received = false;
    while let Ok(Some(delivery)) = tokio::time::timeout(wait, subscription.next()).await {
        received = true;
        let _ = delivery.ack().await;
    }
    received
}

#[tokio::test]
async fn an_unreachable_broker_is_reported_unavailable_within_the_publish_wait() {
    let mut config = RabbitConfig::new("amqp://guest:guest@127.0.0.1:1/%2f");
    config.publish_wait = Duration::from_millis(500);
    let bus = RabbitBus::new(config.clone());
    let started = tokio::time::Instant::now();

    let published = bus.publish(message("anything")).await;
    let subscribed = bus.subscribe(SubscriptionSpec::shared("q", &["#"])).await;
    let requested = bus
        .request(message("anything"), Duration::from_secs(10))
        .await;

    assert!(
        matches!(published, Err(BusError::Unavailable(_))),
        "{published:?}"
    );
    assert!(
        matches!(subscribed, Err(BusError::Unavailable(_))),
        "{subscribed:?}"
    );
    assert!(
        matches!(requested, Err(BusError::Unavailable(_))),
        "{requested:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(RabbitBus::connect(config).await.is_err());
}

/// Closes, on the broker, every connection with this client-given name.
fn close_connections_named(name: &str) -> usize {
    // Table output: one connection per line, its pid first (the JSON
    // formatter prints pids in a form close_connection does not take).
    let listed = Command::new("rabbitmqctl")
        .args([
            "--quiet",
            "--no-table-headers",
            "list_connections",
            "pid",
            "client_properties",
        ])
        .output()
        .expect("rabbitmqctl is needed to kill a connection");
    assert!(
        listed.status.success(),
        "{}",
        String::from_utf8_lossy(&listed.stderr)
    );
    let listed = String::from_utf8_lossy(&listed.stdout).into_owned();
    let mut closed = 0;
    for line in listed.lines().filter(|line| line.contains(name)) {
        let Some(pid) = line.split_whitespace().next() else {
            continue;
        };
        let status = Command::new("rabbitmqctl")
            .args(["--quiet", "close_connection", pid, "test"])
            .status()
            .unwrap();
        assert!(status.success());
        closed += 1;
    }
    closed
}

/// A hub instance's queue: it keeps what is published while its consumer is
/// away (a broker restart, a reconnect), and the broker deletes it once the
/// instance has been gone for the expiry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_per_instance_queue_keeps_messages_while_away_and_expires_when_gone() {
    let backend = Backend::rabbitmq().await;
    run_then_clean_up(&backend, async {
        let spec = SubscriptionSpec::per_instance(
            "test.instance",
            &["instance.#"],
            Duration::from_secs(2),
        );
        drop(backend.bus.subscribe(spec.clone()).await.unwrap());
        let sent = message("instance.update");
        backend.bus.publish(sent.clone()).await.unwrap();

        let mut subscription = backend.bus.subscribe(spec.clone()).await.unwrap();
        let delivery = next(&mut subscription).await;
        assert_eq!(delivery.message.id, sent.id);
        delivery.ack().await.unwrap();
        drop(subscription);

        let raw = Connection::connect(&amqp_url(), ConnectionProperties::default())
            .await
            .unwrap();
        let passive = QueueDeclareOptions {
            passive: true,
            ..QueueDeclareOptions::default()
        };
        let deadline = tokio::time::Instant::now() + PATIENCE + Duration::from_secs(10);
        loop {
            let channel = raw.create_channel().await.unwrap();
            let exists = channel
                .queue_declare(spec.queue.as_str().into(), passive, FieldTable::default())
                .await
                .is_ok();
            if !exists {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the queue of a departed instance was never deleted"
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    })
    .await;
}
