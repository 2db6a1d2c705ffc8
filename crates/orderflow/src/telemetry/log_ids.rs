//! `trace_id` and `span_id` on every log line written inside a traced span, so a line leads
//! to its trace and a trace to its lines.
//!
//! Guarantees: the ids are those of the innermost span the event happened in (W3C hex: 32
//! and 16 digits); a line outside any traced span is exactly what the inner format writes.
//! Text lines end with ` trace_id=… span_id=…`; JSON lines get two top-level members,
//! `"trace_id"` and `"span_id"`, first in the object.

use std::fmt;
use std::sync::{Arc, OnceLock};

use opentelemetry::trace::{SpanId, TraceContextExt, TraceId};
use tracing::dispatcher::WeakDispatch;
use tracing::{Dispatch, Event, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::{LookupSpan, Registry};

/// The subscriber the layers are part of, learned when it is installed: the trace ids are
/// read from it (while an event is being written, `tracing`'s current dispatcher is the
/// no-op one).
#[derive(Debug, Clone, Default)]
pub(crate) struct InstalledDispatch(Arc<OnceLock<WeakDispatch>>);

impl<S: Subscriber> Layer<S> for InstalledDispatch {
    fn on_register_dispatch(&self, subscriber: &Dispatch) {
        let _first = self.0.set(subscriber.downgrade());
    }
}

impl InstalledDispatch {
    fn get(&self) -> Option<Dispatch> {
        self.0.get().and_then(WeakDispatch::upgrade)
    }
}

/// How the ids are written into a line.
#[derive(Debug, Clone, Copy)]
enum Shape {
    Text,
    Json,
}

/// An event format that adds the trace ids to `inner`'s lines.
#[derive(Debug)]
pub(crate) struct WithTraceIds<F> {
    inner: F,
    shape: Shape,
    dispatch: InstalledDispatch,
}

impl<F> WithTraceIds<F> {
    pub(crate) fn text(inner: F, dispatch: InstalledDispatch) -> Self {
        WithTraceIds {
            inner,
            shape: Shape::Text,
            dispatch,
        }
    }

    pub(crate) fn json(inner: F, dispatch: InstalledDispatch) -> Self {
        WithTraceIds {
            inner,
            shape: Shape::Json,
            dispatch,
        }
    }
}

impl<S, N, F> FormatEvent<S, N> for WithTraceIds<F>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        context: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let ids = self
            .dispatch
            .get()
            .and_then(|dispatch| event_ids(&dispatch, event));
        let Some((trace_id, span_id)) = ids else {
            return self.inner.format_event(context, writer, event);
        };
        let mut line = String::new();
        self.inner
            .format_event(context, Writer::new(&mut line), event)?;
        let (body, newline) = match line.strip_suffix('\n') {
            Some(body) => (body, "\n"),
            None => (line.as_str(), ""),
        };
        match self.shape {
            Shape::Text => {
                write!(
                    writer,
                    "{body} trace_id={trace_id} span_id={span_id}{newline}"
                )
            }
            Shape::Json => match body.strip_prefix('{') {
                Some(members) => write!(
                    writer,
                    "{{\"trace_id\":\"{trace_id}\",\"span_id\":\"{span_id}\",{members}{newline}"
                ),
                None => writer.write_str(&line),
            },
        }
    }
}

/// The OpenTelemetry ids of the innermost traced span `event` happened in.
fn event_ids(dispatch: &Dispatch, event: &Event<'_>) -> Option<(TraceId, SpanId)> {
    let registry = dispatch.downcast_ref::<Registry>()?;
    let innermost = match event.parent() {
        Some(parent) => parent.clone(),
        None if event.is_contextual() => registry.current_span().id()?.clone(),
        None => return None,
    };
    let span = registry.span(&innermost)?;
    span.scope().find_map(|enclosing| {
        let context = tracing_opentelemetry::get_otel_context(&enclosing.id(), dispatch)?;
        let otel_span = context.span();
        let span_context = otel_span.span_context();
        span_context
            .is_valid()
            .then(|| (span_context.trace_id(), span_context.span_id()))
    })
}
