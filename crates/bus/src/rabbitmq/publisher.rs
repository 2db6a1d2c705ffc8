//! Publishing with publisher confirms.
//!
//! Guarantees: `publish` returns `Ok` only after the broker acked the
//! (persistent) message; a broker nack is `Rejected`; a returned mandatory
//! message is `Unroutable`; no confirm within `confirm_timeout` is
//! `Unavailable`. While the connection is down a publish **waits, bounded**:
//! it retries with short backoff for at most `publish_wait` (2 s by default),
//! re-opening the confirm channel, then fails with `Unavailable` — so a
//! caller answers 503 quickly and an outbox retries later. A retried publish
//! may reach the broker twice; consumers de-duplicate by message id.
//!
//! Timed for `/metrics`: a whole publish (one message or a batch), retries included, in
//! `orderflow_bus_publish_seconds{outcome="confirmed"|"failed"}`; the wait from the last
//! message sent to the last confirm of an attempt that succeeded in
//! `orderflow_bus_confirm_seconds`.

use std::sync::Arc;

use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
use lapin::{Channel, Confirmation, PublisherConfirm};
use orderflow_app::ports::bus::{BusError, Message};
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::connection::Connector;
use super::convert;
use super::error::from_lapin;
use super::topology::short;
use crate::Backoff;

#[derive(Debug)]
pub(crate) struct Publisher {
    connector: Arc<Connector>,
    /// The confirm-mode channel, shared by concurrent publishes.
    channel: Mutex<Option<Channel>>,
}

impl Publisher {
    pub(crate) fn new(connector: Arc<Connector>) -> Self {
        Publisher {
            connector,
            channel: Mutex::new(None),
        }
    }

    /// Publishes `messages` to `exchange` and waits for every confirm.
    pub(crate) async fn publish(
        &self,
        exchange: &str,
        messages: &[Message],
    ) -> Result<(), BusError> {
        for message in messages {
            message.validate()?;
        }
        let config = self.connector.config();
        let deadline = Instant::now() + config.publish_wait;
        let mut backoff = Backoff::new(
            config.reconnect_initial.min(config.publish_wait / 4),
            config.publish_wait / 2,
        );
        let started = Instant::now();
        loop {
            match self.try_publish(exchange, messages, deadline).await {
                Err(BusError::Unavailable(reason)) if Instant::now() < deadline => {
                    tracing::debug!(%reason, "publish failed, retrying");
                    let pause = backoff.next_delay();
                    tokio::time::sleep_until((Instant::now() + pause).min(deadline)).await;
                }
                outcome => {
                    let label = if outcome.is_ok() {
                        "confirmed"
                    } else {
                        "failed"
                    };
                    metrics::histogram!("orderflow_bus_publish_seconds", "outcome" => label)
                        .record(started.elapsed().as_secs_f64());
                    return outcome;
                }
            }
        }
    }

    async fn try_publish(
        &self,
        exchange: &str,
        messages: &[Message],
        deadline: Instant,
    ) -> Result<(), BusError> {
        // Bounded even while another caller's connection attempt holds the way.
        let channel = tokio::time::timeout_at(deadline, self.channel())
            .await
            .map_err(|_| unreachable_within(self.connector.config().publish_wait))??;
        let mut confirms = Vec::with_capacity(messages.len());
        for message in messages {
            let confirm = send(&channel, exchange, message, None).await;
            if confirm.is_err() {
                self.forget(&channel).await;
            }
            confirms.push((message, confirm?));
        }
        let sent = Instant::now();
        for (message, confirm) in confirms {
            let outcome =
                await_confirm(confirm, message, self.connector.config().confirm_timeout).await;
            if matches!(outcome, Err(BusError::Unavailable(_))) {
                self.forget(&channel).await;
            }
            outcome?;
        }
        metrics::histogram!("orderflow_bus_confirm_seconds").record(sent.elapsed().as_secs_f64());
        Ok(())
    }

    async fn channel(&self) -> Result<Channel, BusError> {
        let mut current = self.channel.lock().await;
        if let Some(channel) = current.as_ref()
            && channel.status().connected()
        {
            return Ok(channel.clone());
        }
        let channel = self.connector.channel().await?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .map_err(|e| from_lapin("enabling publisher confirms", &e))?;
        *current = Some(channel.clone());
        Ok(channel)
    }

    /// Drops a channel that failed, so the next publish opens a new one.
    async fn forget(&self, failed: &Channel) {
        let mut current = self.channel.lock().await;
        if current.as_ref().is_some_and(|c| c.id() == failed.id()) {
            *current = None;
        }
    }
}

pub(crate) fn unreachable_within(wait: std::time::Duration) -> BusError {
    BusError::Unavailable(format!("the broker could not be reached within {wait:?}").into())
}

/// Sends one message on a confirm-mode channel.
pub(crate) async fn send(
    channel: &Channel,
    exchange: &str,
    message: &Message,
    reply_to: Option<&str>,
) -> Result<PublisherConfirm, BusError> {
    let properties = convert::properties(message, reply_to)?;
    channel
        .basic_publish(
            short("exchange", exchange)?,
            short("routing key", &message.routing_key)?,
            BasicPublishOptions {
                mandatory: message.mandatory,
                immediate: false,
            },
            &message.body,
            properties,
        )
        .await
        .map_err(|e| from_lapin("publishing", &e))
}

/// Waits for the broker's confirm of `message`.
pub(crate) async fn await_confirm(
    confirm: PublisherConfirm,
    message: &Message,
    timeout: std::time::Duration,
) -> Result<(), BusError> {
    let confirmation = tokio::time::timeout(timeout, confirm)
        .await
        .map_err(|_| {
            BusError::Unavailable(format!("no publisher confirm within {timeout:?}").into())
        })?
        .map_err(|e| from_lapin("waiting for a publisher confirm", &e))?;
    match confirmation {
        Confirmation::Ack(None) => Ok(()),
        Confirmation::Ack(Some(_returned)) => {
            Err(BusError::Unroutable(message.routing_key.clone()))
        }
        Confirmation::Nack(_) => Err(BusError::Rejected(format!(
            "the broker did not take message {}",
            message.id
        ))),
        Confirmation::NotRequested => Err(BusError::Unavailable(
            "the channel is not in confirm mode".into(),
        )),
    }
}
