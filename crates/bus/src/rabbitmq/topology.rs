//! What the adapter declares on the broker, and why.
//!
//! * The exchange (`orderflow` by default): a durable topic exchange.
//! * The dead-letter exchange `{exchange}.dead-letter` (durable, topic) and
//!   the durable queue of the same name bound to it with `#`.
//! * A shared queue: a durable **quorum** queue with `x-delivery-limit`, so
//!   the broker itself dead-letters a message returned more than that many
//!   times — also when the consumer crashes before it could nack, which a
//!   header counted by the consumer would miss — and with at-least-once
//!   dead-lettering (`x-dead-letter-strategy`, which needs
//!   `x-overflow: reject-publish`), so a dead letter is not lost on the way.
//! * An exclusive queue: a classic, exclusive, auto-delete queue (quorum
//!   queues cannot be exclusive) with the same dead-letter exchange; its
//!   delivery limit is counted by its only consumer (`consumer.rs`).
//!
//! Redeclaring is idempotent, so every (re)connection declares again.

use lapin::options::{ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use lapin::{Channel, ExchangeKind};
use orderflow_app::ports::bus::{BusError, QueueMode, SubscriptionSpec};

use super::config::RabbitConfig;
use super::error::from_lapin;

pub(crate) fn short(what: &str, value: &str) -> Result<ShortString, BusError> {
    ShortString::try_new(value)
        .map_err(|_| BusError::Invalid(format!("{what} {value:?} is longer than 255 bytes")))
}

pub(crate) async fn declare_exchanges(
    channel: &Channel,
    config: &RabbitConfig,
) -> Result<(), BusError> {
    let durable = ExchangeDeclareOptions {
        durable: true,
        ..ExchangeDeclareOptions::default()
    };
    for exchange in [&config.exchange, &config.dead_letter_exchange()] {
        channel
            .exchange_declare(
                short("exchange", exchange)?,
                ExchangeKind::Topic,
                durable,
                FieldTable::default(),
            )
            .await
            .map_err(|e| from_lapin("declaring an exchange", &e))?;
    }
    let dead_letters = short("queue", &config.dead_letter_queue())?;
    channel
        .queue_declare(
            dead_letters.clone(),
            QueueDeclareOptions {
                durable: true,
                ..QueueDeclareOptions::default()
            },
            FieldTable::default(),
        )
        .await
        .map_err(|e| from_lapin("declaring the dead-letter queue", &e))?;
    channel
        .queue_bind(
            dead_letters,
            short("exchange", &config.dead_letter_exchange())?,
            "#".into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await
        .map_err(|e| from_lapin("binding the dead-letter queue", &e))
}

/// Declares the subscription's queue and binds its patterns.
pub(crate) async fn declare_queue(
    channel: &Channel,
    config: &RabbitConfig,
    spec: &SubscriptionSpec,
) -> Result<(), BusError> {
    let queue = short("queue", &spec.queue)?;
    let mut arguments = FieldTable::default();
    arguments.insert(
        "x-dead-letter-exchange".into(),
        text(&config.dead_letter_exchange()),
    );
    let options = match spec.mode {
        QueueMode::Shared => {
            arguments.insert("x-queue-type".into(), text("quorum"));
            arguments.insert(
                "x-delivery-limit".into(),
                AMQPValue::LongLongInt(i64::from(spec.delivery_limit)),
            );
            arguments.insert("x-dead-letter-strategy".into(), text("at-least-once"));
            arguments.insert("x-overflow".into(), text("reject-publish"));
            if let Some(expiry) = spec.expires_after {
                let millis = i64::try_from(expiry.as_millis()).unwrap_or(i64::MAX);
                arguments.insert("x-expires".into(), AMQPValue::LongLongInt(millis));
            }
            QueueDeclareOptions {
                durable: true,
                ..QueueDeclareOptions::default()
            }
        }
        QueueMode::Exclusive => QueueDeclareOptions {
            exclusive: true,
            auto_delete: true,
            ..QueueDeclareOptions::default()
        },
    };
    channel
        .queue_declare(queue.clone(), options, arguments)
        .await
        .map_err(|e| from_lapin("declaring a queue", &e))?;
    let exchange = short("exchange", &config.exchange)?;
    for binding in &spec.bindings {
        channel
            .queue_bind(
                queue.clone(),
                exchange.clone(),
                short("binding", binding)?,
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await
            .map_err(|e| from_lapin("binding a queue", &e))?;
    }
    Ok(())
}

fn text(value: &str) -> AMQPValue {
    AMQPValue::LongString(LongString::from(value))
}
