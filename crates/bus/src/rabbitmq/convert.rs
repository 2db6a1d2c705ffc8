//! A port [`Message`] to AMQP and back. On the wire: `message_id` = the id,
//! `type` = the kind, `correlation_id`, text headers, `delivery_mode` 2
//! (persistent), `content_type` `application/json`. Coming back, a message
//! without a UUID `message_id` or without a `type` is malformed (the consumer
//! dead-letters it); header values that are not text (the broker's `x-death`,
//! `x-delivery-count`) are not carried into [`Message::headers`].

use std::collections::BTreeMap;

use lapin::BasicProperties;
use lapin::types::{AMQPValue, FieldTable, LongString};
use orderflow_app::ports::bus::{BusError, Message};
use uuid::Uuid;

use super::topology::short;

const PERSISTENT: u8 = 2;

pub(crate) fn properties(
    message: &Message,
    reply_to: Option<&str>,
) -> Result<BasicProperties, BusError> {
    let mut headers = FieldTable::default();
    for (name, value) in &message.headers {
        headers.insert(
            short("header name", name)?,
            AMQPValue::LongString(LongString::from(value.as_str())),
        );
    }
    let mut properties = BasicProperties::default()
        .with_message_id(message.id.to_string().into())
        .with_type(short("message kind", &message.kind)?)
        .with_delivery_mode(PERSISTENT)
        .with_content_type("application/json".into())
        .with_headers(headers);
    if let Some(correlation_id) = message.correlation_id {
        properties = properties.with_correlation_id(correlation_id.to_string().into());
    }
    if let Some(reply_to) = reply_to {
        properties = properties.with_reply_to(short("reply address", reply_to)?);
    }
    Ok(properties)
}

pub(crate) fn message(
    routing_key: &str,
    properties: &BasicProperties,
    body: Vec<u8>,
) -> Result<Message, BusError> {
    let id = properties
        .message_id()
        .as_ref()
        .ok_or_else(|| BusError::Malformed("no message_id".into()))?;
    let id = Uuid::parse_str(id.as_str())
        .map_err(|_| BusError::Malformed(format!("message_id {id:?} is not a UUID").into()))?;
    let kind = properties
        .kind()
        .as_ref()
        .ok_or_else(|| BusError::Malformed(format!("message {id} has no type").into()))?;
    let correlation_id = properties
        .correlation_id()
        .as_ref()
        .map(|c| {
            Uuid::parse_str(c.as_str()).map_err(|_| {
                BusError::Malformed(format!("correlation_id {c:?} of {id} is not a UUID").into())
            })
        })
        .transpose()?;
    Ok(Message {
        id,
        kind: kind.to_string(),
        routing_key: routing_key.to_owned(),
        correlation_id,
        headers: text_headers(properties.headers().as_ref()),
        body,
        mandatory: false,
    })
}

fn text_headers(headers: Option<&FieldTable>) -> BTreeMap<String, String> {
    let Some(headers) = headers else {
        return BTreeMap::new();
    };
    headers
        .inner()
        .iter()
        .filter_map(|(name, value)| {
            let text = match value {
                AMQPValue::LongString(text) => String::from_utf8(text.as_bytes().to_vec()).ok(),
                AMQPValue::ShortString(text) => Some(text.to_string()),
                _ => None,
            }?;
            Some((name.to_string(), text))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_survives_the_trip_through_amqp_properties() {
        let sent = Message::new(
            "OrderCreatedIntegrationEvent",
            "orders.created",
            b"{}".to_vec(),
        )
        .with_correlation_id(Uuid::new_v4())
        .with_header("user", "alice");
        let on_the_wire = properties(&sent, None).unwrap();
        assert_eq!(on_the_wire.delivery_mode(), &Some(PERSISTENT));
        let received = message("orders.created", &on_the_wire, sent.body.clone()).unwrap();
        assert_eq!(received, sent);
    }

    #[test]
    fn a_message_without_a_uuid_id_is_malformed() {
        let on_the_wire = BasicProperties::default()
            .with_message_id("42".into())
            .with_type("Kind".into());
        let error = message("k", &on_the_wire, Vec::new()).unwrap_err();
        assert!(matches!(error, BusError::Malformed(_)));
    }
}
