//! The span a subscription's handler opens per event.
//!
//! Guarantees: it is a child of the trace that appended the event (the event's stored
//! `traceparent`), so one trace runs from a request to what it caused.

use crate::ports::RecordedEvent;

/// A span for `subscription` handling `event`, continuing the trace of the work that
/// appended it (the event's `traceparent`). Handlers hold it until the event's effect is
/// durable, and what they publish for the event carries its context.
pub fn event_span(subscription: &str, event: &RecordedEvent) -> tracing::Span {
    let span = tracing::info_span!(
        "handle event",
        otel.name = %format_args!("{subscription} {}", event.event_type),
        otel.kind = "consumer",
        subscription,
        event_type = %event.event_type,
        position = event.position.value(),
    );
    event.metadata.trace.continue_in(&span);
    span
}
