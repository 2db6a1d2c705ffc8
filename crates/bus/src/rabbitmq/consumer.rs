//! RabbitMQ consumers: one channel per subscription, manual acks, prefetch
//! through `basic.qos`, and a task that resumes by itself.
//!
//! Guarantees: a subscription re-opens its channel, re-declares its queue and
//! bindings and consumes again after any loss (broker restart, closed
//! connection, cancelled consumer), with jittered exponential backoff and
//! without a manual step, until the [`QueueSubscription`] is dropped or the bus is
//! closed. Deliveries handed out before a loss can no longer be settled
//! (`Unavailable`): the broker redelivers them. A delivery dropped unsettled
//! is nacked with requeue (`settle.rs`). A message without a UUID id or a
//! type is dead-lettered on arrival. An exclusive queue dies with its
//! connection and is declared anew on reconnection: messages routed while it
//! was gone are not in it.

use std::sync::Arc;

use futures::StreamExt;
use lapin::options::{BasicConsumeOptions, BasicQosOptions, BasicRejectOptions};
use lapin::types::FieldTable;
use lapin::{Channel, Consumer};
use orderflow_app::ports::bus::{BusError, Delivery, QueueSubscription, SubscriptionSpec};
use tokio::sync::mpsc;

use super::connection::Connector;
use super::convert;
use super::error::from_lapin;
use super::publisher::Publisher;
use super::settle::{RabbitSettle, Returns};
use super::topology::{self, short};
use crate::Backoff;

/// What a subscription's task needs.
#[derive(Debug, Clone)]
pub(crate) struct Consuming {
    pub(crate) connector: Arc<Connector>,
    /// Sends replies to requests.
    pub(crate) publisher: Arc<Publisher>,
}

/// Declares, consumes once (so that failures reach the caller), then hands
/// the consumer to a task that keeps it alive.
pub(crate) async fn subscribe(
    consuming: Consuming,
    spec: SubscriptionSpec,
) -> Result<QueueSubscription, BusError> {
    spec.validate()?;
    let first = open(&consuming.connector, &spec).await?;
    let (deliveries, receiver) = mpsc::channel(1);
    let subscription = QueueSubscription::new(spec.queue.clone(), receiver);
    tokio::spawn(run(consuming, spec, first, deliveries));
    Ok(subscription)
}

async fn open(
    connector: &Connector,
    spec: &SubscriptionSpec,
) -> Result<(Channel, Consumer), BusError> {
    let channel = connector.channel().await?;
    let consumer = async {
        channel
            .basic_qos(spec.prefetch, BasicQosOptions::default())
            .await
            .map_err(|e| from_lapin("setting the prefetch", &e))?;
        topology::declare_queue(&channel, connector.config(), spec).await?;
        channel
            .basic_consume(
                short("queue", &spec.queue)?,
                "".into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await
            .map_err(|e| from_lapin("consuming", &e))
    }
    .await;
    match consumer {
        Ok(consumer) => Ok((channel, consumer)),
        Err(error) => {
            let _ = channel.close(200, "subscription failed".into()).await;
            Err(error)
        }
    }
}

/// Why forwarding stopped.
enum Stop {
    /// The subscription was dropped.
    Unsubscribed,
    /// The channel or connection is gone: open again.
    Lost(String),
}

async fn run(
    consuming: Consuming,
    spec: SubscriptionSpec,
    first: (Channel, Consumer),
    deliveries: mpsc::Sender<Delivery>,
) {
    let config = consuming.connector.config();
    let mut backoff = Backoff::new(config.reconnect_initial, config.reconnect_max);
    let mut current = first;
    loop {
        let returns = Returns::for_spec(&spec);
        let (channel, consumer) = &mut current;
        match forward(&consuming, channel, consumer, returns, &deliveries).await {
            Stop::Unsubscribed => {
                let _ = channel.close(200, "unsubscribed".into()).await;
                tracing::debug!(queue = %spec.queue, "subscription ended");
                return;
            }
            Stop::Lost(reason) => {
                tracing::warn!(queue = %spec.queue, %reason, "consumer lost, reconnecting");
            }
        }
        current = loop {
            let pause = backoff.next_delay();
            tokio::select! {
                () = deliveries.closed() => return,
                () = tokio::time::sleep(pause) => {}
            }
            if consuming.connector.is_closed() || deliveries.is_closed() {
                return;
            }
            match open(&consuming.connector, &spec).await {
                Ok(reopened) => break reopened,
                Err(error) => tracing::warn!(queue = %spec.queue, %error, "still reconnecting"),
            }
        };
        backoff.reset();
        tracing::info!(queue = %spec.queue, "consumer resumed");
    }
}

async fn forward(
    consuming: &Consuming,
    channel: &Channel,
    consumer: &mut Consumer,
    returns: Option<Arc<Returns>>,
    deliveries: &mpsc::Sender<Delivery>,
) -> Stop {
    loop {
        let next = tokio::select! {
            () = deliveries.closed() => return Stop::Unsubscribed,
            next = consumer.next() => next,
        };
        let amqp = match next {
            Some(Ok(amqp)) => amqp,
            Some(Err(error)) => return Stop::Lost(error.to_string()),
            None => return Stop::Lost("the broker cancelled the consumer".into()),
        };
        let message = match convert::message(amqp.routing_key.as_str(), &amqp.properties, amqp.data)
        {
            Ok(message) => message,
            Err(error) => {
                tracing::warn!(%error, channel = channel.id(), "malformed message dead-lettered");
                let _ = amqp
                    .acker
                    .reject(BasicRejectOptions { requeue: false })
                    .await;
                continue;
            }
        };
        let settle = RabbitSettle {
            acker: Some(amqp.acker),
            message_id: message.id,
            reply_to: amqp.properties.reply_to().as_ref().map(ToString::to_string),
            returns: returns.clone(),
            publisher: consuming.publisher.clone(),
        };
        let delivery = Delivery::new(message, amqp.redelivered, Box::new(settle));
        if deliveries.send(delivery).await.is_err() {
            return Stop::Unsubscribed;
        }
    }
}
