//! The RabbitMQ adapter (server mode, `ORDERFLOW_AMQP_URL`), on `lapin`.
//!
//! What it guarantees, beyond the port (`orderflow_app::ports::bus`):
//!
//! * Messages go to one durable topic exchange (`orderflow` by default) as
//!   persistent messages with `message_id`, `correlation_id` and `type` set,
//!   and a publish returns after the broker's **publisher confirm**
//!   (`publisher.rs`).
//! * Consumers ack manually with a `basic.qos` prefetch; shared queues are
//!   quorum queues with a broker-enforced delivery limit; rejected messages
//!   and those over the limit go to a dead-letter exchange and queue
//!   (`topology.rs`).
//! * **Reconnection without a manual step.** One connection is shared and
//!   re-opened on demand (`connection.rs`). A publish during an outage waits
//!   at most `publish_wait`, then fails with `Unavailable`; subscriptions
//!   re-declare and resume with backoff (`consumer.rs`); requests use direct
//!   reply-to and re-open their channel (`rpc.rs`).

mod config;
mod connection;
mod consumer;
mod convert;
mod error;
mod publisher;
mod rpc;
mod settle;
mod topology;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use lapin::options::{BasicAckOptions, BasicGetOptions, ExchangeDeleteOptions, QueueDeleteOptions};
use orderflow_app::ports::bus::{
    BusError, Message, MessagePublisher, MessageRequester, MessageSubscriber, QueueSubscription,
    SubscriptionSpec,
};

pub use self::config::RabbitConfig;
use self::connection::Connector;
use self::consumer::Consuming;
use self::error::from_lapin;
use self::publisher::Publisher;
use self::rpc::Requester;
use self::topology::short;

/// The RabbitMQ bus; clones share one connection.
#[derive(Debug, Clone)]
pub struct RabbitBus {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    config: Arc<RabbitConfig>,
    connector: Arc<Connector>,
    publisher: Arc<Publisher>,
    requester: Requester,
}

impl RabbitBus {
    /// A bus that connects when first used (and whenever it must again).
    pub fn new(config: RabbitConfig) -> Self {
        let config = Arc::new(config);
        let connector = Arc::new(Connector::new(config.clone()));
        RabbitBus {
            inner: Arc::new(Inner {
                publisher: Arc::new(Publisher::new(connector.clone())),
                requester: Requester::new(connector.clone()),
                connector,
                config,
            }),
        }
    }

    /// A bus that has connected once and declared its exchanges: fails with
    /// `Unavailable` when the broker cannot be reached now.
    pub async fn connect(config: RabbitConfig) -> Result<Self, BusError> {
        let bus = RabbitBus::new(config);
        bus.inner.connector.connection().await?;
        Ok(bus)
    }

    pub fn config(&self) -> &RabbitConfig {
        &self.inner.config
    }

    /// Takes up to `max` messages off the dead-letter queue (they are acked,
    /// so they are gone from the broker). For operators and tests; a message
    /// on it that is not ours is skipped and left there.
    pub async fn take_dead_letters(&self, max: usize) -> Result<Vec<Message>, BusError> {
        let channel = self.inner.connector.channel().await?;
        let queue = short("queue", &self.inner.config.dead_letter_queue())?;
        let mut taken = Vec::new();
        while taken.len() < max {
            let got = channel
                .basic_get(queue.clone(), BasicGetOptions::default())
                .await
                .map_err(|e| from_lapin("reading dead letters", &e))?;
            let Some(got) = got else { break };
            let delivery = got.delivery;
            match self::convert::message(
                delivery.routing_key.as_str(),
                &delivery.properties,
                delivery.data,
            ) {
                Ok(message) => {
                    delivery
                        .acker
                        .ack(BasicAckOptions::default())
                        .await
                        .map_err(|e| from_lapin("taking a dead letter", &e))?;
                    taken.push(message);
                }
                Err(error) => tracing::warn!(%error, "foreign dead letter left in place"),
            }
        }
        let _ = channel.close(200, "dead letters read".into()).await;
        Ok(taken)
    }

    /// Deletes a queue with whatever it holds.
    pub async fn delete_queue(&self, queue: &str) -> Result<(), BusError> {
        let channel = self.inner.connector.channel().await?;
        channel
            .queue_delete(short("queue", queue)?, QueueDeleteOptions::default())
            .await
            .map_err(|e| from_lapin("deleting a queue", &e))?;
        let _ = channel.close(200, "queue deleted".into()).await;
        Ok(())
    }

    /// Deletes the exchange, the dead-letter exchange and the dead-letter
    /// queue (test clean-up; queues bound to the exchange stay).
    pub async fn delete_exchanges(&self) -> Result<(), BusError> {
        self.delete_queue(&self.inner.config.dead_letter_queue())
            .await?;
        let channel = self.inner.connector.channel().await?;
        for exchange in [
            &self.inner.config.exchange,
            &self.inner.config.dead_letter_exchange(),
        ] {
            channel
                .exchange_delete(
                    short("exchange", exchange)?,
                    ExchangeDeleteOptions::default(),
                )
                .await
                .map_err(|e| from_lapin("deleting an exchange", &e))?;
        }
        let _ = channel.close(200, "exchanges deleted".into()).await;
        Ok(())
    }

    /// Closes the connection for good: subscriptions end, publishes fail.
    pub async fn close(&self) {
        self.inner.connector.close().await;
    }
}

#[async_trait]
impl MessagePublisher for RabbitBus {
    async fn publish(&self, message: Message) -> Result<(), BusError> {
        self.inner
            .publisher
            .publish(&self.inner.config.exchange, std::slice::from_ref(&message))
            .await
    }

    /// Pipelined: every message is sent, then every confirm awaited.
    async fn publish_batch(&self, messages: Vec<Message>) -> Result<(), BusError> {
        self.inner
            .publisher
            .publish(&self.inner.config.exchange, &messages)
            .await
    }
}

#[async_trait]
impl MessageSubscriber for RabbitBus {
    async fn subscribe(&self, spec: SubscriptionSpec) -> Result<QueueSubscription, BusError> {
        let consuming = Consuming {
            connector: self.inner.connector.clone(),
            publisher: self.inner.publisher.clone(),
        };
        consumer::subscribe(consuming, spec).await
    }
}

#[async_trait]
impl MessageRequester for RabbitBus {
    async fn request(&self, request: Message, timeout: Duration) -> Result<Message, BusError> {
        self.inner
            .requester
            .request(&self.inner.config.exchange, request, timeout)
            .await
    }
}
