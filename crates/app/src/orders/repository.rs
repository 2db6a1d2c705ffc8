//! Loading an order from its stream and turning domain events into events to
//! append. An event that does not decode is corrupt data: reported as an
//! internal error, never skipped.

use orderflow_domain::{Order, OrderEvent, OrderId, fold};
use time::OffsetDateTime;

use crate::context::RequestContext;
use crate::error::AppError;
use crate::ports::{EventMetadata, EventStore, NewEvent, StreamName};
use crate::recorded::decode_order_event;

/// Events read per page when loading a stream.
const PAGE: usize = 1_000;

/// An order as loaded, with the revision to append after.
#[derive(Debug)]
pub(crate) struct LoadedOrder {
    pub(crate) order: Option<Order>,
    /// Revision of the stream's last event; `None` when there is no stream.
    pub(crate) revision: Option<u64>,
}

pub(crate) fn stream_of(order_id: OrderId) -> Result<StreamName, AppError> {
    StreamName::parse(order_id.stream_name()).map_err(|error| AppError::Internal(Box::new(error)))
}

pub(crate) async fn load(
    store: &dyn EventStore,
    order_id: OrderId,
) -> Result<LoadedOrder, AppError> {
    let stream = stream_of(order_id)?;
    let mut events = Vec::new();
    let mut revision = None;
    loop {
        let from = revision.map_or(0, |r: u64| r + 1);
        let page = store.read_stream(&stream, from, PAGE).await?;
        for recorded in &page {
            let event = decode_order_event(recorded)
                .map_err(|error| AppError::Internal(Box::new(error)))?;
            events.push(event);
            revision = Some(recorded.revision);
        }
        if page.len() < PAGE {
            break;
        }
    }
    Ok(LoadedOrder {
        order: fold(&events),
        revision,
    })
}

/// The events to append for `events`, decided by `request` (a label unique
/// within the request, so that idempotent ids differ per use).
pub(crate) fn new_events(
    context: &RequestContext,
    request: &str,
    events: &[OrderEvent],
    now: OffsetDateTime,
) -> Vec<NewEvent> {
    let causation_id = context.id_for(&format!("{request}/command"));
    let trace = crate::TraceContext::current();
    events
        .iter()
        .enumerate()
        .map(|(index, event)| {
            let metadata = EventMetadata {
                correlation_id: context.correlation_id,
                causation_id,
                user_id: Some(context.actor.user_id.as_str().to_owned()),
                occurred_at: now,
                trace: trace.clone(),
            };
            to_new_event(
                event,
                context.id_for(&format!("{request}/event/{index}")),
                metadata,
            )
        })
        .collect()
}

/// The stored form of one domain event: its type name, schema version and
/// JSON body, with the given id and metadata.
pub fn to_new_event(event: &OrderEvent, id: uuid::Uuid, metadata: EventMetadata) -> NewEvent {
    NewEvent {
        id,
        event_type: event.event_type().to_owned(),
        schema_version: event.schema_version(),
        data: event.to_json(),
        metadata,
    }
}
