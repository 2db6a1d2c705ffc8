//! Request/response over RabbitMQ's direct reply-to.
//!
//! One channel per adapter consumes the pseudo-queue `amq.rabbitmq.reply-to`
//! (no acks, as the broker requires) and publishes every request, so replies
//! come straight back on it without any queue to declare or clean up. A reply
//! is matched to its waiting request by `correlation_id` = the request's
//! message id. Guarantees: a request is published mandatory and confirmed
//! (no consumer queue → `Unroutable` at once); the whole exchange is bounded
//! by the caller's timeout (`Timeout`); a connection lost while waiting fails
//! the waiting requests with `Unavailable` and the next request re-opens the
//! channel; a late or unknown reply is dropped.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use futures::StreamExt;
use lapin::options::{BasicConsumeOptions, ConfirmSelectOptions};
use lapin::types::FieldTable;
use lapin::{Channel, Consumer};
use orderflow_app::ports::bus::{BusError, Message};
use tokio::sync::oneshot;
use tokio::time::Instant;
use uuid::Uuid;

use super::connection::Connector;
use super::convert;
use super::error::from_lapin;
use super::publisher::{await_confirm, send, unreachable_within};
use crate::Backoff;

const DIRECT_REPLY_TO: &str = "amq.rabbitmq.reply-to";

type Waiting = Arc<Mutex<HashMap<Uuid, oneshot::Sender<Message>>>>;

fn lock(waiting: &Waiting) -> MutexGuard<'_, HashMap<Uuid, oneshot::Sender<Message>>> {
    waiting.lock().unwrap_or_else(PoisonError::into_inner)
}

#[derive(Debug, Clone)]
struct ReplyChannel {
    channel: Channel,
    /// Requests sent on this channel that wait for their reply.
    waiting: Waiting,
}

#[derive(Debug)]
pub(crate) struct Requester {
    connector: Arc<Connector>,
    current: tokio::sync::Mutex<Option<ReplyChannel>>,
}

/// Removes a request from the waiting list however its wait ends.
struct Registration {
    waiting: Waiting,
    id: Uuid,
}

impl Drop for Registration {
    fn drop(&mut self) {
        lock(&self.waiting).remove(&self.id);
    }
}

impl Requester {
    pub(crate) fn new(connector: Arc<Connector>) -> Self {
        Requester {
            connector,
            current: tokio::sync::Mutex::new(None),
        }
    }

    pub(crate) async fn request(
        &self,
        exchange: &str,
        request: Message,
        timeout: Duration,
    ) -> Result<Message, BusError> {
        let request = request.mandatory();
        request.validate()?;
        tokio::time::timeout(timeout, self.exchange(exchange, &request))
            .await
            .map_err(|_| BusError::Timeout(timeout))?
    }

    async fn exchange(&self, exchange: &str, request: &Message) -> Result<Message, BusError> {
        let replies = self.reply_channel_within_publish_wait().await?;
        let (reply_sender, reply) = oneshot::channel();
        lock(&replies.waiting).insert(request.id, reply_sender);
        let _registration = Registration {
            waiting: replies.waiting.clone(),
            id: request.id,
        };
        let confirm = send(&replies.channel, exchange, request, Some(DIRECT_REPLY_TO)).await?;
        await_confirm(confirm, request, self.connector.config().confirm_timeout).await?;
        reply.await.map_err(|_| {
            BusError::Unavailable("the connection to the broker was lost before the reply".into())
        })
    }

    /// Like the publisher: waits at most `publish_wait` for the broker.
    async fn reply_channel_within_publish_wait(&self) -> Result<ReplyChannel, BusError> {
        let config = self.connector.config();
        let deadline = Instant::now() + config.publish_wait;
        let mut backoff = Backoff::new(
            config.reconnect_initial.min(config.publish_wait / 4),
            config.publish_wait / 2,
        );
        loop {
            let attempt = tokio::time::timeout_at(deadline, self.reply_channel()).await;
            match attempt.map_err(|_| unreachable_within(config.publish_wait))? {
                Err(BusError::Unavailable(_)) if Instant::now() < deadline => {
                    let pause = backoff.next_delay();
                    tokio::time::sleep_until((Instant::now() + pause).min(deadline)).await;
                }
                outcome => return outcome,
            }
        }
    }

    async fn reply_channel(&self) -> Result<ReplyChannel, BusError> {
        let mut current = self.current.lock().await;
        if let Some(replies) = current.as_ref()
            && replies.channel.status().connected()
        {
            return Ok(replies.clone());
        }
        let channel = self.connector.channel().await?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .map_err(|e| from_lapin("enabling publisher confirms", &e))?;
        let consumer = channel
            .basic_consume(
                DIRECT_REPLY_TO.into(),
                "".into(),
                BasicConsumeOptions {
                    no_ack: true,
                    ..BasicConsumeOptions::default()
                },
                FieldTable::default(),
            )
            .await
            .map_err(|e| from_lapin("consuming direct replies", &e))?;
        let replies = ReplyChannel {
            channel,
            waiting: Waiting::default(),
        };
        tokio::spawn(hand_out_replies(consumer, replies.waiting.clone()));
        *current = Some(replies.clone());
        Ok(replies)
    }
}

async fn hand_out_replies(mut consumer: Consumer, waiting: Waiting) {
    while let Some(Ok(amqp)) = consumer.next().await {
        let reply = match convert::message(amqp.routing_key.as_str(), &amqp.properties, amqp.data) {
            Ok(reply) => reply,
            Err(error) => {
                tracing::warn!(%error, "malformed reply dropped");
                continue;
            }
        };
        let Some(request_id) = reply.correlation_id else {
            tracing::warn!(message_id = %reply.id, "reply without correlation id dropped");
            continue;
        };
        match lock(&waiting).remove(&request_id) {
            Some(requester) => {
                let _ = requester.send(reply);
            }
            None => tracing::debug!(%request_id, "late reply dropped"),
        }
    }
    // The channel is gone: fail whoever still waits on it.
    lock(&waiting).clear();
}
