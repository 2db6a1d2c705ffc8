//! What to consume: a queue, its bindings, how it is shared, its prefetch
//! and delivery limit, checked against the limits every adapter relies on.

use std::time::Duration;

use uuid::Uuid;

use super::BusError;
use super::limits::check_name;

/// How a subscription's queue is shared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueMode {
    /// Durable, survives restarts; subscribers with the same queue name are
    /// competing consumers. RabbitMQ: a quorum queue.
    Shared,
    /// Private to one subscriber and deleted with it (fan-out: one queue per
    /// instance). RabbitMQ: an exclusive, auto-delete classic queue.
    Exclusive,
}

/// What to consume: a queue, its bindings and how it is shared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionSpec {
    /// Queue name. For [`QueueMode::Exclusive`] use [`SubscriptionSpec::exclusive`],
    /// which makes it unique.
    pub queue: String,
    /// Topic patterns bound to the queue (`orders.*`, `push.#`). Bindings are
    /// added to a shared queue, never removed.
    pub bindings: Vec<String>,
    pub mode: QueueMode,
    /// Most unsettled deliveries this subscriber holds at once (at least 1).
    pub prefetch: u16,
    /// How often a message may be requeued before it is dead-lettered.
    /// RabbitMQ: the quorum queue's `x-delivery-limit`, fixed when the queue
    /// is first declared.
    pub delivery_limit: u32,
    /// A shared queue left without consumers this long is deleted by the
    /// broker (RabbitMQ `x-expires`); `None` keeps it for ever.
    pub expires_after: Option<Duration>,
    /// The queue's name in metric labels: the name itself for a shared queue, the prefix
    /// for a per-instance or exclusive one, so a restart adds no series.
    pub metric_label: String,
}

impl SubscriptionSpec {
    pub const DEFAULT_PREFETCH: u16 = 32;
    pub const DEFAULT_DELIVERY_LIMIT: u32 = 10;

    /// A durable queue shared by every subscriber with this name.
    pub fn shared(queue: impl Into<String>, bindings: &[&str]) -> Self {
        let queue = queue.into();
        SubscriptionSpec {
            metric_label: queue.clone(),
            queue,
            bindings: bindings.iter().map(|b| (*b).to_owned()).collect(),
            mode: QueueMode::Shared,
            prefetch: Self::DEFAULT_PREFETCH,
            delivery_limit: Self::DEFAULT_DELIVERY_LIMIT,
            expires_after: None,
        }
    }

    /// A durable queue of this instance alone, named `{prefix}.{unique id}`,
    /// for fan-out that survives a broker restart: unlike an exclusive
    /// queue it keeps what is published while the instance reconnects. The
    /// broker deletes it once it has had no consumer for `expires_after`
    /// (the instance is gone).
    pub fn per_instance(prefix: &str, bindings: &[&str], expires_after: Duration) -> Self {
        SubscriptionSpec {
            queue: format!("{prefix}.{}", Uuid::new_v4().simple()),
            metric_label: prefix.to_owned(),
            expires_after: Some(expires_after),
            ..SubscriptionSpec::shared(String::new(), bindings)
        }
    }

    /// A queue private to this subscriber, named `{prefix}.{unique id}`.
    pub fn exclusive(prefix: &str, bindings: &[&str]) -> Self {
        SubscriptionSpec {
            queue: format!("{prefix}.{}", Uuid::new_v4().simple()),
            metric_label: prefix.to_owned(),
            mode: QueueMode::Exclusive,
            ..SubscriptionSpec::shared(String::new(), bindings)
        }
    }

    pub fn with_prefetch(mut self, prefetch: u16) -> Self {
        self.prefetch = prefetch;
        self
    }

    pub fn with_delivery_limit(mut self, delivery_limit: u32) -> Self {
        self.delivery_limit = delivery_limit;
        self
    }

    /// Checks the limits every adapter relies on.
    pub fn validate(&self) -> Result<(), BusError> {
        check_name("queue name", &self.queue, false)?;
        if self.queue.starts_with("amq.") {
            return Err(BusError::Invalid(
                "queue names starting with \"amq.\" are reserved".into(),
            ));
        }
        for binding in &self.bindings {
            check_name("binding", binding, true)?;
        }
        if self.prefetch == 0 {
            return Err(BusError::Invalid("prefetch must be at least 1".into()));
        }
        if self
            .expires_after
            .is_some_and(|expiry| expiry < Duration::from_millis(1))
        {
            return Err(BusError::Invalid("a queue expiry is at least 1 ms".into()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::bus::Message;

    #[test]
    fn names_longer_than_amqp_allows_are_refused() {
        let message = Message::new("Kind", "k".repeat(256), Vec::new());
        assert!(matches!(message.validate(), Err(BusError::Invalid(_))));
        let spec = SubscriptionSpec::shared("", &["#"]);
        assert!(matches!(spec.validate(), Err(BusError::Invalid(_))));
        let spec = SubscriptionSpec::exclusive("hub", &["push.#"]).with_prefetch(0);
        assert!(matches!(spec.validate(), Err(BusError::Invalid(_))));
    }

    #[test]
    fn an_exclusive_queue_name_is_unique() {
        let a = SubscriptionSpec::exclusive("hub", &["push.#"]);
        let b = SubscriptionSpec::exclusive("hub", &["push.#"]);
        assert_ne!(a.queue, b.queue);
        assert!(a.queue.starts_with("hub."));
        assert!(a.validate().is_ok());
    }
}
