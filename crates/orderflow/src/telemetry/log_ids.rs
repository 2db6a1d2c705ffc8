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
    let context = orderflow_app::nearest_traced_context(dispatch, &innermost)?;
    let otel_span = context.span();
    let span_context = otel_span.span_context();
    span_context
        .is_valid()
        .then(|| (span_context.trace_id(), span_context.span_id()))
}

#[cfg(test)]
mod tests {
    use opentelemetry::trace::TracerProvider as _;
    use opentelemetry_sdk::trace::SdkTracerProvider;
    use tracing_subscriber::layer::SubscriberExt;

    use super::*;
    use crate::telemetry::captured_lines::CapturedLines;

    /// Logs "inside" within a traced span and "outside" after it, in the text or JSON
    /// format; returns the output and the span's ids.
    fn logged(json: bool) -> (String, String, String) {
        let lines = CapturedLines::default();
        let dispatch = InstalledDispatch::default();
        let provider = SdkTracerProvider::builder().build();
        let logs = tracing_subscriber::fmt::layer()
            .with_writer(lines.clone())
            .with_ansi(false);
        let logs = if json {
            logs.event_format(WithTraceIds::json(
                tracing_subscriber::fmt::format().json(),
                dispatch.clone(),
            ))
            .fmt_fields(tracing_subscriber::fmt::format::JsonFields::new())
            .boxed()
        } else {
            logs.event_format(WithTraceIds::text(
                tracing_subscriber::fmt::format(),
                dispatch.clone(),
            ))
            .boxed()
        };
        let subscriber = tracing_subscriber::registry()
            .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")))
            .with(logs)
            .with(dispatch);
        let ids = tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("work");
            let ids = span.in_scope(|| {
                tracing::info!("inside");
                let context = tracing_opentelemetry::OpenTelemetrySpanExt::context(&span);
                let otel_span = context.span();
                let span_context = otel_span.span_context();
                (
                    span_context.trace_id().to_string(),
                    span_context.span_id().to_string(),
                )
            });
            tracing::info!("outside");
            ids
        });
        (lines.text(), ids.0, ids.1)
    }

    #[test]
    fn text_lines_in_a_traced_span_end_with_its_ids() {
        let (output, trace_id, span_id) = logged(false);
        let lines: Vec<&str> = output.lines().collect();
        assert_eq!(lines.len(), 2, "{output}");
        assert!(lines[0].contains("inside"), "{output}");
        assert!(
            lines[0].ends_with(&format!(" trace_id={trace_id} span_id={span_id}")),
            "{output}"
        );
        assert!(
            lines[1].contains("outside") && !lines[1].contains("trace_id"),
            "{output}"
        );
    }

    #[test]
    fn json_lines_in_a_traced_span_carry_its_ids_as_members() {
        let (output, trace_id, span_id) = logged(true);
        let lines: Vec<serde_json::Value> = output
            .lines()
            .map(|line| serde_json::from_str(line).unwrap_or_default())
            .collect();
        assert_eq!(lines.len(), 2, "{output}");
        assert_eq!(lines[0]["trace_id"], trace_id.as_str(), "{output}");
        assert_eq!(lines[0]["span_id"], span_id.as_str(), "{output}");
        assert_eq!(lines[0]["fields"]["message"], "inside", "{output}");
        assert!(lines[1].get("trace_id").is_none(), "{output}");
    }
}
