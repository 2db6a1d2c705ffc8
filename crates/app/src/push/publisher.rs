//! The push publisher: an event-store subscription handler that turns order
//! events into [`PushUpdateIntegrationMessage`]s, confirmed by the broker
//! before the batch counts as handled.
//!
//! Who is told: the order's subscribers as of the event, and its buyer. The
//! publisher follows `OrderCreated` and `OrderSubscriptionAdded` as they pass
//! in the global order and keeps each recent order's subscribers in memory
//! (at most 100,000 orders, oldest forgotten first), so
//! the hot path — an order confirmed minutes after it was placed — reads
//! nothing. An order it has not seen (created before this process started,
//! or forgotten) is folded from its stream up to the event, once. The cache
//! is dropped whenever a batch fails, because the subscription then replays
//! from its checkpoint and older events must not see newer subscribers.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::Arc;

use crate::recorded::decode_order_event;
use async_trait::async_trait;
use orderflow_domain::{OrderEvent, OrderId, fold};

use super::message::{
    PUSH_UPDATE_MESSAGE_KIND, PUSH_UPDATE_ROUTING_PREFIX, PushUpdateIntegrationMessage,
    PushUpdatePayload,
};
use crate::TraceContext;
use crate::ports::bus::{Message, MessagePublisher};
use crate::ports::{EventStore, RecordedEvent};
use crate::subscription::{EventHandler, EventSpans, HandlerError};
use tracing::Instrument;

/// Namespace of message ids derived from event ids.
const PUSH_MESSAGE_IDS: uuid::Uuid =
    uuid::Uuid::from_u128(0x7075_7368_2d75_7064_6174_652d_6d73_6731);

/// Most orders whose subscribers are kept in memory.
const SUBSCRIBER_CACHE_ORDERS: usize = 100_000;

/// Subscribers of recently seen orders, bounded, oldest forgotten first.
#[derive(Debug, Default)]
struct SubscriberCache {
    orders: HashMap<OrderId, BTreeSet<String>>,
    age: VecDeque<OrderId>,
}

impl SubscriberCache {
    fn insert(&mut self, order_id: OrderId, subscribers: BTreeSet<String>) {
        if self.orders.insert(order_id, subscribers).is_none() {
            self.age.push_back(order_id);
        }
        while self.orders.len() > SUBSCRIBER_CACHE_ORDERS {
            if let Some(oldest) = self.age.pop_front() {
                self.orders.remove(&oldest);
            }
        }
    }

    fn clear(&mut self) {
        self.orders.clear();
        self.age.clear();
    }
}

/// Publishes a push update for every confirmed or cancelled order.
pub struct PushPublisher {
    store: Arc<dyn EventStore>,
    bus: Arc<dyn MessagePublisher>,
    subscribers: SubscriberCache,
}

impl std::fmt::Debug for PushPublisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PushPublisher")
            .field("cached_orders", &self.subscribers.orders.len())
            .finish_non_exhaustive()
    }
}

impl PushPublisher {
    /// The subscription name its checkpoint is stored under.
    pub const SUBSCRIPTION: &'static str = "push-publisher";

    pub fn new(store: Arc<dyn EventStore>, bus: Arc<dyn MessagePublisher>) -> Self {
        PushPublisher {
            store,
            bus,
            subscribers: SubscriberCache::default(),
        }
    }

    /// Learns from `event`, and returns the message it calls for, if any.
    /// The span is opened only for an event that is pushed.
    async fn handle_one<'a>(
        &mut self,
        event: &'a RecordedEvent,
        spans: &mut EventSpans<'a>,
    ) -> Result<Option<Message>, HandlerError> {
        let decoded = decode_order_event(event).map_err(HandlerError::of)?;
        let (order_id, payload) = match decoded {
            OrderEvent::OrderConfirmed { order_id, .. } => (
                order_id,
                PushUpdatePayload::OrderConfirmed {
                    order_id: order_id.to_string(),
                },
            ),
            OrderEvent::OrderCancelled { order_id, .. } => (
                order_id,
                PushUpdatePayload::OrderCancelled {
                    order_id: order_id.to_string(),
                },
            ),
            learned => {
                self.learn(learned);
                return Ok(None);
            }
        };
        let span = spans.span_for(event);
        let subscriber_ids = self
            .subscribers_at(event, order_id)
            .instrument(span.clone())
            .await?;
        let message = PushUpdateIntegrationMessage {
            message_id: uuid::Uuid::new_v5(&PUSH_MESSAGE_IDS, event.id.as_bytes()),
            subscriber_ids,
            payload,
        };
        let routing_key = format!(
            "{PUSH_UPDATE_ROUTING_PREFIX}{}",
            message.payload.type_name()
        );
        let published = Message::json(PUSH_UPDATE_MESSAGE_KIND, routing_key, &message)
            .map_err(HandlerError::of)?
            .with_id(message.message_id)
            .with_correlation_id(event.metadata.correlation_id)
            .with_trace_context(&TraceContext::of_span(&span));
        Ok(Some(published))
    }

    /// Follows a creation or a new subscriber. An order created before this
    /// process saw it stays unknown (it is folded from its stream when asked).
    fn learn(&mut self, event: OrderEvent) {
        match event {
            OrderEvent::OrderCreated {
                order_id, buyer_id, ..
            } => {
                self.subscribers
                    .insert(order_id, BTreeSet::from([buyer_id.to_string()]));
            }
            OrderEvent::OrderSubscriptionAdded {
                order_id,
                subscriber_id,
            } => {
                if let Some(known) = self.subscribers.orders.get_mut(&order_id) {
                    known.insert(subscriber_id.to_string());
                }
            }
            _ => {}
        }
    }

    /// The order's subscribers as of `event`, and its buyer.
    async fn subscribers_at(
        &mut self,
        event: &RecordedEvent,
        order_id: OrderId,
    ) -> Result<Vec<String>, HandlerError> {
        if let Some(known) = self.subscribers.orders.get(&order_id) {
            return Ok(known.iter().cloned().collect());
        }
        let history = self
            .store
            .read_stream(&event.stream, 0, event.revision as usize + 1)
            .await
            .map_err(HandlerError::of)?;
        let events = history
            .iter()
            .map(decode_order_event)
            .collect::<Result<Vec<_>, _>>()
            .map_err(HandlerError::of)?;
        let Some(order) = fold(&events) else {
            return Err(HandlerError::invariant(format!(
                "order {order_id} has no OrderCreated"
            )));
        };
        let mut subscribers: BTreeSet<String> = order
            .subscribers()
            .iter()
            .map(|s| s.as_str().to_owned())
            .collect();
        subscribers.insert(order.buyer_id().as_str().to_owned());
        self.subscribers.insert(order_id, subscribers.clone());
        Ok(subscribers.into_iter().collect())
    }

    async fn publish(&mut self, events: &[RecordedEvent]) -> Result<(), HandlerError> {
        let mut messages = Vec::new();
        // Spans for the pushed events, open until the broker confirmed the batch.
        let mut spans = EventSpans::new(Self::SUBSCRIPTION);
        for event in events {
            if let Some(message) = self.handle_one(event, &mut spans).await? {
                messages.push(message);
            }
        }
        if messages.is_empty() {
            return Ok(());
        }
        let published = self
            .bus
            .publish_batch(messages)
            .await
            .map_err(|error| HandlerError::new("publishing push updates", error));
        drop(spans);
        published
    }
}

#[async_trait]
impl EventHandler for PushPublisher {
    async fn handle(&mut self, events: &[RecordedEvent]) -> Result<(), HandlerError> {
        let published = self.publish(events).await;
        if published.is_err() {
            // The subscription replays from its checkpoint: forget what the
            // failed batch taught, so no replayed event sees a later state.
            self.subscribers.clear();
        }
        published
    }
}
