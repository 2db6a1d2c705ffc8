//! The spans a subscription's handler opens for the events it handles.
//!
//! Guarantees:
//! - each span is a child of the trace that appended its events (their stored
//!   `traceparent`), so one trace runs from a request to what it caused;
//! - [`EventSpans`] opens one span per run of consecutive events appended by the same work
//!   (the same stored trace context, as the events of one command are), named after the
//!   run's first event, and only when a handler asks for one: an event the handler does
//!   nothing with for the trace makes no span. An order placed makes one span per
//!   subscription, not one per event.

use crate::TraceContext;
use crate::ports::RecordedEvent;

/// A span for `subscription` handling `event`, continuing the trace of the work that
/// appended it (the event's `traceparent`; untraced if that trace was not sampled).
/// Handlers hold it until the event's effect is durable, and what they publish for the
/// event carries its context.
fn event_span(subscription: &str, event: &RecordedEvent) -> tracing::Span {
    crate::hop_span!(
        &event.metadata.trace,
        "handle event",
        otel.name = %format_args!("{subscription} {}", event.event_type),
        otel.kind = "consumer",
        position = event.position.value(),
    )
}

/// The spans of one batch: ask [`EventSpans::span_for`] for each event (in the batch's
/// order) that the handler acts on, and drop this once the batch's effect is durable.
#[derive(Debug)]
pub struct EventSpans<'a> {
    subscription: &'a str,
    /// The trace of the last span opened, and that span.
    current: Option<(&'a TraceContext, tracing::Span)>,
    /// Every span opened, held until this is dropped.
    opened: Vec<tracing::Span>,
}

impl<'a> EventSpans<'a> {
    pub fn new(subscription: &'a str) -> Self {
        Self {
            subscription,
            current: None,
            opened: Vec::new(),
        }
    }

    /// The span `event` is handled in: the last one opened if `event` continues its trace
    /// (and the trace is known), else a new [`event_span`].
    pub fn span_for(&mut self, event: &'a RecordedEvent) -> tracing::Span {
        let trace = &event.metadata.trace;
        if let Some((current, span)) = &self.current
            && !trace.is_none()
            && *current == trace
        {
            return span.clone();
        }
        let span = event_span(self.subscription, event);
        self.opened.push(span.clone());
        self.current = Some((trace, span.clone()));
        span
    }
}
