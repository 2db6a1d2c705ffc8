//! Settings of the RabbitMQ adapter and the names it derives from them. The
//! URL's password never appears in `Debug` output or logs.

use std::fmt;
use std::time::Duration;

/// Where the broker is and how patient the adapter is with it.
#[derive(Clone)]
pub struct RabbitConfig {
    /// `amqp://user:password@host:port/vhost` (`%2f` is the default vhost `/`).
    pub url: String,
    /// The durable topic exchange every message is published to.
    pub exchange: String,
    /// Shown by the broker (`rabbitmqctl list_connections client_properties`).
    pub connection_name: String,
    /// How long a publish or request waits for a lost connection to come
    /// back before it fails with `Unavailable`.
    pub publish_wait: Duration,
    /// How long a publish waits for the broker's confirm before it fails with
    /// `Unavailable` (it may still have been taken: retry with the same id).
    pub confirm_timeout: Duration,
    /// One attempt to open a connection.
    pub connect_timeout: Duration,
    /// Delays between a consumer's reconnection attempts (doubling, jittered).
    pub reconnect_initial: Duration,
    pub reconnect_max: Duration,
}

impl RabbitConfig {
    pub const DEFAULT_URL: &'static str = "amqp://guest:guest@127.0.0.1:5672/%2f";
    pub const DEFAULT_EXCHANGE: &'static str = "orderflow";

    pub fn new(url: impl Into<String>) -> Self {
        RabbitConfig {
            url: url.into(),
            exchange: Self::DEFAULT_EXCHANGE.to_owned(),
            connection_name: "orderflow".to_owned(),
            publish_wait: Duration::from_secs(2),
            confirm_timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(5),
            reconnect_initial: Duration::from_millis(100),
            reconnect_max: Duration::from_secs(5),
        }
    }

    pub fn with_exchange(mut self, exchange: impl Into<String>) -> Self {
        self.exchange = exchange.into();
        self
    }

    pub fn with_connection_name(mut self, name: impl Into<String>) -> Self {
        self.connection_name = name.into();
        self
    }

    /// Where rejected messages and those over their delivery limit go: a
    /// durable topic exchange, `{exchange}.dead-letter`.
    pub fn dead_letter_exchange(&self) -> String {
        format!("{}.dead-letter", self.exchange)
    }

    /// The durable queue bound to the dead-letter exchange with `#`: every
    /// dead letter of this exchange, with its original routing key and the
    /// broker's `x-death` header.
    pub fn dead_letter_queue(&self) -> String {
        format!("{}.dead-letter", self.exchange)
    }
}

impl Default for RabbitConfig {
    fn default() -> Self {
        RabbitConfig::new(Self::DEFAULT_URL)
    }
}

impl fmt::Debug for RabbitConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RabbitConfig")
            .field("url", &redact_password(&self.url))
            .field("exchange", &self.exchange)
            .field("connection_name", &self.connection_name)
            .field("publish_wait", &self.publish_wait)
            .field("confirm_timeout", &self.confirm_timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("reconnect_initial", &self.reconnect_initial)
            .field("reconnect_max", &self.reconnect_max)
            .finish()
    }
}

/// `amqp://user:secret@host/` → `amqp://user:***@host/`.
pub(crate) fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some((credentials, host)) = rest.split_once('@') else {
        return url.to_owned();
    };
    match credentials.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_is_redacted_from_debug_output() {
        let config = RabbitConfig::new("amqp://app:s3cret@broker:5672/%2f");
        let shown = format!("{config:?}");
        assert!(!shown.contains("s3cret"));
        assert!(shown.contains("amqp://app:***@broker:5672/%2f"));
    }
}
