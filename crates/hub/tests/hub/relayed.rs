//! The real relay between a bus and a test hub: the in-process bus, as `orderflow up` runs
//! it, or RabbitMQ, as `orderflow push-hub` runs it. On RabbitMQ ([`RabbitRelay`]) the test
//! has an exchange of its own, and its queues and exchanges are deleted afterwards, whether
//! it passed or not; a RabbitMQ that cannot be reached fails the test (it never skips).

use std::any::Any;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use orderflow_app::ports::bus::{
    BusError, Message as BusMessage, MessageBus, MessagePublisher, MessageSubscriber,
    QueueSubscription, SubscriptionSpec,
};
use orderflow_app::push::{
    PUSH_UPDATE_MESSAGE_KIND, PushUpdateIntegrationMessage, PushUpdatePayload,
};
use orderflow_bus::{InProcessBus, InProcessConfig, RabbitBus, RabbitConfig};
use orderflow_hub::{HubConfig, PushHub, PushRelay, start_push_relay};
use serde_json::Value;
use tokio::sync::oneshot;

use crate::support::{PATIENCE, TestHub, user_id};

/// The relay between a bus and a test hub, stopped when dropped.
pub(crate) struct Relayed {
    publisher: Arc<dyn MessagePublisher>,
    relay: PushRelay,
    stop: oneshot::Sender<()>,
}

impl Relayed {
    /// A relay to `running` from an in-process bus of its own, with the default
    /// acknowledgement timeout.
    pub(crate) async fn start(running: &TestHub) -> Self {
        let bus: Arc<dyn MessageBus> = Arc::new(InProcessBus::new(InProcessConfig::default()));
        Self::start_on(bus, &running.hub, HubConfig::DEFAULT_ACK_TIMEOUT).await
    }

    /// A relay to `hub` from `bus` (hub instances sharing one bus each have their own
    /// queue), subscribed when this returns.
    pub(crate) async fn start_on(
        bus: Arc<dyn MessageBus>,
        hub: &PushHub,
        ack_timeout: Duration,
    ) -> Self {
        Self::start_between(bus.clone(), bus, hub, ack_timeout).await
    }

    async fn start_between(
        publisher: Arc<dyn MessagePublisher>,
        subscriber: Arc<dyn MessageSubscriber>,
        hub: &PushHub,
        ack_timeout: Duration,
    ) -> Self {
        let (stop, stopped) = oneshot::channel::<()>();
        let relay = start_push_relay(hub.clone(), subscriber, ack_timeout, async {
            let _stopped = stopped.await;
        });
        let mut subscribed = relay.subscribed();
        tokio::time::timeout(PATIENCE, subscribed.wait_for(|subscribed| *subscribed))
            .await
            .expect("the relay subscribes at once")
            .unwrap();
        Self {
            publisher,
            relay,
            stop,
        }
    }

    /// Publishes an `order-confirmed` update of `order_id` for `username`; returns the
    /// `PushUpdate` argument the client should receive.
    pub(crate) async fn publish(&self, username: &str, order_id: &str) -> Value {
        let message = PushUpdateIntegrationMessage {
            message_id: uuid::Uuid::new_v4(),
            subscriber_ids: vec![user_id(username)],
            payload: PushUpdatePayload::OrderConfirmed {
                order_id: order_id.to_owned(),
            },
        };
        let argument = message.push_update_argument();
        let published = BusMessage::json(
            PUSH_UPDATE_MESSAGE_KIND,
            "push-update.order-confirmed",
            &message,
        )
        .unwrap()
        .with_id(message.message_id);
        self.publisher.publish(published).await.unwrap();
        argument
    }

    /// Stops the relay and waits until it has (its deliveries in flight settled).
    pub(crate) async fn stop(self) {
        let _ = self.stop.send(());
        tokio::time::timeout(PATIENCE, self.relay.stopped())
            .await
            .expect("the relay stops within the patience");
    }
}

/// The broker the tests use: `ORDERFLOW_TEST_AMQP_URL`, or the one on this machine.
fn amqp_url() -> String {
    std::env::var("ORDERFLOW_TEST_AMQP_URL").unwrap_or_else(|_| RabbitConfig::DEFAULT_URL.into())
}

/// A relay to a test hub from RabbitMQ, on an exchange of the test's own.
pub(crate) struct RabbitRelay {
    pub(crate) relayed: Relayed,
    rabbit: RabbitBus,
    queues: Arc<Mutex<Vec<String>>>,
}

impl RabbitRelay {
    /// A relay to `running` from RabbitMQ with the default acknowledgement timeout; panics
    /// when RabbitMQ cannot be reached.
    pub(crate) async fn start(running: &TestHub) -> Self {
        let test_id = uuid::Uuid::new_v4().simple().to_string();
        let config = RabbitConfig::new(amqp_url())
            .with_exchange(format!("test-{test_id}"))
            .with_connection_name(format!("orderflow-hub-test-{test_id}"));
        let rabbit = RabbitBus::connect(config).await.unwrap_or_else(|error| {
            panic!(
                "RabbitMQ is required for this test and is not reachable at {}: {error}. \
                 Start it (`rabbitmq-server -detached`) or set ORDERFLOW_TEST_AMQP_URL.",
                amqp_url()
            )
        });
        let queues = Arc::new(Mutex::new(Vec::new()));
        let subscriber = Arc::new(NotingQueues {
            bus: rabbit.clone(),
            queues: queues.clone(),
        });
        let relayed = Relayed::start_between(
            Arc::new(rabbit.clone()),
            subscriber,
            &running.hub,
            HubConfig::DEFAULT_ACK_TIMEOUT,
        )
        .await;
        Self {
            relayed,
            rabbit,
            queues,
        }
    }

    /// Stops the relay, deletes the test's queues and exchanges, then goes on with
    /// `outcome`, the test's (a panic is resumed).
    pub(crate) async fn clean_up(self, outcome: Result<(), Box<dyn Any + Send>>) {
        self.relayed.stop().await;
        let queues = self.queues.lock().unwrap().clone();
        for queue in queues {
            self.rabbit.delete_queue(&queue).await.unwrap();
        }
        self.rabbit.delete_exchanges().await.unwrap();
        self.rabbit.close().await;
        if let Err(panic) = outcome {
            std::panic::resume_unwind(panic);
        }
    }
}

/// Subscribes through RabbitMQ, noting the queues, to delete them afterwards.
#[derive(Debug)]
struct NotingQueues {
    bus: RabbitBus,
    queues: Arc<Mutex<Vec<String>>>,
}

#[async_trait]
impl MessageSubscriber for NotingQueues {
    async fn subscribe(&self, spec: SubscriptionSpec) -> Result<QueueSubscription, BusError> {
        self.queues.lock().unwrap().push(spec.queue.clone());
        self.bus.subscribe(spec).await
    }
}
