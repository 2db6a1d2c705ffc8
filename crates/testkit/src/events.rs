//! Domain events as one request would store them: fresh event ids, one
//! correlation id shared by all (also their causation id), the acting user
//! and the time. For tests and benchmarks that fill an event store.

use orderflow_app::orders::to_new_event;
use orderflow_app::ports::{EventMetadata, NewEvent};
use orderflow_domain::OrderEvent;
use time::OffsetDateTime;
use uuid::Uuid;

pub fn stored_events(
    events: &[OrderEvent],
    user: Option<&str>,
    occurred_at: OffsetDateTime,
) -> Vec<NewEvent> {
    let correlation_id = Uuid::now_v7();
    events
        .iter()
        .map(|event| {
            let metadata = EventMetadata {
                correlation_id,
                causation_id: correlation_id,
                user_id: user.map(str::to_owned),
                occurred_at,
                trace: orderflow_app::TraceContext::none(),
            };
            to_new_event(event, Uuid::now_v7(), metadata)
        })
        .collect()
}
