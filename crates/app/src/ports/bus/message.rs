//! One message on the bus: id, kind, routing key, headers and a JSON body. The W3C trace
//! context travels in the `traceparent` and `tracestate` headers.

use std::collections::BTreeMap;

use serde::Serialize;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use super::limits::check_name;
use super::{BusCause, BusError};
use crate::TraceContext;

/// One message on the bus. Bodies are JSON by contract (see `DESIGN.md`), kept
/// as bytes so that they travel unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Unique per message, kept across retries and redeliveries: consumers
    /// de-duplicate by it. AMQP `message_id`.
    pub id: Uuid,
    /// What the body is, e.g. `PushUpdateIntegrationMessage`. AMQP `type`.
    pub kind: String,
    /// Topic routing key, e.g. `push.order-confirmed`.
    pub routing_key: String,
    /// AMQP `correlation_id`. On a reply it is the request's [`Message::id`].
    pub correlation_id: Option<Uuid>,
    /// Text headers. Names starting with `x-` are reserved for the broker.
    pub headers: BTreeMap<String, String>,
    /// The body, JSON by contract.
    pub body: Vec<u8>,
    /// Publish only if some queue takes it, else fail with
    /// [`BusError::Unroutable`] (AMQP `mandatory`). Not carried to consumers.
    pub mandatory: bool,
}

impl Message {
    /// A message with a fresh (time-ordered) id.
    pub fn new(kind: impl Into<String>, routing_key: impl Into<String>, body: Vec<u8>) -> Self {
        Message {
            id: Uuid::now_v7(),
            kind: kind.into(),
            routing_key: routing_key.into(),
            correlation_id: None,
            headers: BTreeMap::new(),
            body,
            mandatory: false,
        }
    }

    /// A message whose body is `value` as JSON.
    pub fn json<T: Serialize + ?Sized>(
        kind: impl Into<String>,
        routing_key: impl Into<String>,
        value: &T,
    ) -> Result<Self, BusError> {
        let body = serde_json::to_vec(value)
            .map_err(|e| BusError::Malformed(BusCause::new("encoding a body as JSON", e)))?;
        Ok(Message::new(kind, routing_key, body))
    }

    /// The body decoded from JSON.
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, BusError> {
        serde_json::from_slice(&self.body)
            .map_err(|e| BusError::Malformed(BusCause::new(format!("{} body", self.kind), e)))
    }

    /// Keep a given id, e.g. derived from the event it announces, so a retried
    /// publish carries the same id.
    pub fn with_id(mut self, id: Uuid) -> Self {
        self.id = id;
        self
    }

    pub fn with_correlation_id(mut self, correlation_id: Uuid) -> Self {
        self.correlation_id = Some(correlation_id);
        self
    }

    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.insert(name.into(), value.into());
        self
    }

    /// Carry `trace` (`traceparent`, `tracestate` headers), so the consumer continues it.
    pub fn with_trace_context(mut self, trace: &TraceContext) -> Self {
        trace.write_to(&mut self.headers);
        self
    }

    /// The trace context the message carries, if any.
    pub fn trace_context(&self) -> TraceContext {
        TraceContext::from_headers(|name| self.headers.get(name).map(String::as_str))
    }

    /// Fail with [`BusError::Unroutable`] instead of dropping the message when
    /// no queue is bound for it.
    pub fn mandatory(mut self) -> Self {
        self.mandatory = true;
        self
    }

    /// Checks the limits every adapter relies on.
    pub fn validate(&self) -> Result<(), BusError> {
        check_name("routing key", &self.routing_key, true)?;
        check_name("message kind", &self.kind, false)?;
        for name in self.headers.keys() {
            check_name("header name", name, false)?;
        }
        Ok(())
    }
}
