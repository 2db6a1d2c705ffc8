//! W3C Trace Context as it travels between the hops of one user action: from an HTTP
//! request into the events it appends, from an event into the messages its subscriptions
//! publish, and from a message into whatever consumes it, in this process or another.
//!
//! Guarantees:
//! - the text form is the W3C one (`traceparent`, `tracestate`), written and read by
//!   `opentelemetry_sdk`'s [`TraceContextPropagator`]; nothing here parses it by hand;
//! - [`TraceContext::of_span`] is the context of the nearest traced span among that span and
//!   its ancestors (its trace id and its span id as the parent of what comes next: a span
//!   kept out of OpenTelemetry, which only scopes log lines, hands on its traced ancestor's),
//!   or [`TraceContext::none`] when no OpenTelemetry layer records spans — then nothing is
//!   written anywhere and everything behaves as before;
//! - [`TraceContext::continue_in`] makes a span a child of the carried context; an absent or
//!   malformed context leaves the span where it was (a new root, or a child of the current
//!   span), so bad input starts a trace instead of failing the work;
//! - a hop that carries a trace that was not sampled makes no OpenTelemetry span at all
//!   ([`TraceContext::hop_span`], [`hop_span!`](crate::hop_span)): its span is kept out of
//!   OpenTelemetry (no `otel.name`) and hands the carried context on unchanged, so under a
//!   sampling ratio the hops of the traces nobody will see cost only their `tracing` span,
//!   which [`UntracedHops`] keeps in being whatever the log level.

use std::collections::BTreeMap;

use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::TraceContextExt;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use serde::{Deserialize, Serialize};
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::registry::LookupSpan;

/// The header (HTTP, AMQP, hub invocation) and metadata name of the parent span.
pub const TRACEPARENT: &str = "traceparent";
/// The header and metadata name of the vendors' trace state.
pub const TRACESTATE: &str = "tracestate";

/// A `traceparent` and its `tracestate`, as carried in event metadata and message headers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceContext {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    traceparent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tracestate: Option<String>,
}

impl TraceContext {
    /// No trace: the work it describes was not traced.
    pub fn none() -> Self {
        TraceContext::default()
    }

    /// The context as stored (event metadata columns); checked only when continued.
    pub fn from_stored(traceparent: Option<String>, tracestate: Option<String>) -> Self {
        TraceContext {
            traceparent: traceparent.filter(|text| !text.is_empty()),
            tracestate: tracestate.filter(|text| !text.is_empty()),
        }
    }

    /// The context read from text headers named `traceparent` and `tracestate`, looked up
    /// by `header` (case as the carrier defines it).
    pub fn from_headers<'a>(header: impl Fn(&str) -> Option<&'a str>) -> Self {
        TraceContext::from_stored(
            header(TRACEPARENT).map(str::to_owned),
            header(TRACESTATE).map(str::to_owned),
        )
    }

    /// The context of `span`, or of its nearest traced ancestor: the next hop becomes its
    /// child.
    pub fn of_span(span: &tracing::Span) -> Self {
        let context = span
            .with_subscriber(|(id, dispatch)| nearest_traced_context(dispatch, id))
            .flatten();
        let Some(context) = context.filter(|context| context.span().span_context().is_valid())
        else {
            return TraceContext::none();
        };
        let mut written = Written::default();
        TraceContextPropagator::new().inject_context(&context, &mut written);
        TraceContext::from_stored(written.traceparent, written.tracestate)
    }

    /// The context of the current span.
    pub fn current() -> Self {
        TraceContext::of_span(&tracing::Span::current())
    }

    pub fn traceparent(&self) -> Option<&str> {
        self.traceparent.as_deref()
    }

    pub fn tracestate(&self) -> Option<&str> {
        self.tracestate.as_deref()
    }

    pub fn is_none(&self) -> bool {
        self.traceparent.is_none()
    }

    /// The W3C trace id (32 hex digits), when the context is valid.
    pub fn trace_id(&self) -> Option<String> {
        let context = self.extract();
        let span = context.span();
        let span_context = span.span_context();
        span_context
            .is_valid()
            .then(|| span_context.trace_id().to_string())
    }

    /// Writes `traceparent` (and `tracestate` when there is one) into `headers`.
    pub fn write_to(&self, headers: &mut BTreeMap<String, String>) {
        if let Some(traceparent) = &self.traceparent {
            headers.insert(TRACEPARENT.to_owned(), traceparent.clone());
        }
        if let Some(tracestate) = &self.tracestate {
            headers.insert(TRACESTATE.to_owned(), tracestate.clone());
        }
    }

    /// Makes `span` a child of this context. Call it before the span is first entered:
    /// a started span keeps its parent.
    pub fn continue_in(&self, span: &tracing::Span) {
        let context = self.extract();
        if context.span().span_context().is_valid() {
            continue_in(span, context);
        }
    }

    /// The span of a hop that carries this context in: `traced()` (a span named for
    /// OpenTelemetry), made a child of this context; or, when this context names a trace
    /// that was not sampled, `untraced()` (the same span without `otel.name`), which hands
    /// this context on unchanged ([`TraceContext::of_span`] of it, or of any span inside
    /// it, is this context). Nothing of an unsampled trace then reaches OpenTelemetry: no
    /// span data is made, sampled or dropped. [`hop_span!`](crate::hop_span) writes both
    /// spans from one field list.
    pub fn hop_span(
        &self,
        traced: impl FnOnce() -> tracing::Span,
        untraced: impl FnOnce() -> tracing::Span,
    ) -> tracing::Span {
        if self.traceparent.is_none() {
            return traced();
        }
        let context = self.extract();
        let carried = context.span().span_context().clone();
        if carried.is_valid() && !carried.is_sampled() {
            let span = untraced();
            span.with_subscriber(|(id, dispatch)| {
                // Handed on only where traces are recorded, as a traced hop's would be.
                if dispatch.downcast_ref::<TracedSpans>().is_none() {
                    return;
                }
                let registry = dispatch.downcast_ref::<tracing_subscriber::Registry>();
                let span = registry.and_then(|registry| LookupSpan::span(registry, id));
                if let Some(span) = span {
                    span.extensions_mut().replace(CarriedContext(context));
                }
            });
            return span;
        }
        let span = traced();
        if carried.is_valid() {
            continue_in(&span, context);
        }
        span
    }

    fn extract(&self) -> opentelemetry::Context {
        TraceContextPropagator::new().extract(self)
    }
}

fn continue_in(span: &tracing::Span, context: opentelemetry::Context) {
    if let Err(error) = span.set_parent(context) {
        tracing::debug!(%error, "trace context not continued");
    }
}

/// The context an untraced hop carries on (see [`TraceContext::hop_span`]), kept in its
/// span's extensions.
struct CarriedContext(opentelemetry::Context);

/// The spans OpenTelemetry traces: orderflow's own spans at info and above that name
/// themselves for it (`otel.name`), one per hop; the others (correlation, mediator,
/// adapters) only scope log lines. The binary installs it as the OpenTelemetry layer's
/// filter, and its presence in the subscriber is how [`TraceContext::hop_span`] knows that
/// traces are recorded: without it (export off) an unsampled context is not handed on,
/// just as no sampled one is.
#[derive(Debug, Clone, Copy, Default)]
pub struct TracedSpans;

/// The untraced hops ([`TraceContext::hop_span`] of an unsampled trace: the span without
/// `otel.name`, with a `hop` field): where traces are recorded, the binary installs a layer
/// that does nothing else with this filter, so such a span exists whatever the log level
/// and can hand its carried context on. Without it, with logs above info (`RUST_LOG=warn`)
/// no layer would want the span, it would not exist, and each later hop would start a trace
/// of its own.
#[derive(Debug, Clone, Copy, Default)]
pub struct UntracedHops;

/// An orderflow span at info or above with a field named `field`.
fn orderflow_info_span_with(metadata: &tracing::Metadata<'_>, field: &str) -> bool {
    metadata.is_span()
        && *metadata.level() <= tracing::Level::INFO
        && metadata.target().starts_with("orderflow")
        && metadata.fields().field(field).is_some()
}

/// A per-layer filter that wants orderflow's spans at info and above with the field
/// `$field`, decided once per callsite.
macro_rules! span_filter {
    ($($filter:ty => $field:literal),+) => {$(
        impl $filter {
            fn selects(metadata: &tracing::Metadata<'_>) -> bool {
                orderflow_info_span_with(metadata, $field)
            }
        }

        impl<S> tracing_subscriber::layer::Filter<S> for $filter {
            fn enabled(
                &self,
                metadata: &tracing::Metadata<'_>,
                _: &tracing_subscriber::layer::Context<'_, S>,
            ) -> bool {
                Self::selects(metadata)
            }

            fn callsite_enabled(
                &self,
                metadata: &'static tracing::Metadata<'static>,
            ) -> tracing::subscriber::Interest {
                if Self::selects(metadata) {
                    tracing::subscriber::Interest::always()
                } else {
                    tracing::subscriber::Interest::never()
                }
            }
        }
    )+};
}

// The field by which a span names itself for OpenTelemetry, and asks to be traced; the
// field an untraced hop names itself by ([`hop_span!`](crate::hop_span)).
span_filter!(TracedSpans => "otel.name", UntracedHops => "hop");

/// The span of a hop that carries a trace context in (see [`TraceContext::hop_span`]), at
/// info level: `hop_span!(carried, "name", otel.name = %name, otel.kind = "kind", fields…)`
/// makes the span with every field when the carried trace is sampled (or there is none),
/// and, when it is not, without `otel.name` and `otel.kind` but with the same name as
/// `hop`, so its log lines still say which hop they come from (and [`UntracedHops`] keeps
/// it). A hop's fields need not repeat what its name says: each is one more attribute on
/// every exported span. `hop_span!(carried, target: TARGET, "name", …)` gives the spans a
/// target other than the caller's module.
#[macro_export]
macro_rules! hop_span {
    ($carried:expr, target: $target:expr, $name:literal, otel.name = % $otel_name:expr, otel.kind = $kind:literal $(, $($field:tt)*)?) => {
        $crate::TraceContext::hop_span(
            $carried,
            || ::tracing::info_span!(target: $target, $name, otel.name = %$otel_name, otel.kind = $kind $(, $($field)*)?),
            || ::tracing::info_span!(target: $target, $name, hop = %$otel_name $(, $($field)*)?),
        )
    };
    ($carried:expr, $name:literal, otel.name = % $otel_name:expr, otel.kind = $kind:literal $(, $($field:tt)*)?) => {
        $crate::hop_span!($carried, target: module_path!(), $name, otel.name = %$otel_name, otel.kind = $kind $(, $($field)*)?)
    };
}

/// The propagator reads the two fields where they are, without copying them.
impl Extractor for TraceContext {
    fn get(&self, key: &str) -> Option<&str> {
        match key {
            TRACEPARENT => self.traceparent(),
            TRACESTATE => self.tracestate(),
            _ => None,
        }
    }

    fn keys(&self) -> Vec<&str> {
        [
            self.traceparent.as_ref().map(|_| TRACEPARENT),
            self.tracestate.as_ref().map(|_| TRACESTATE),
        ]
        .into_iter()
        .flatten()
        .collect()
    }
}

/// What the propagator writes: the two fields it knows, nothing else.
#[derive(Default)]
struct Written {
    traceparent: Option<String>,
    tracestate: Option<String>,
}

impl Injector for Written {
    fn set(&mut self, key: &str, value: String) {
        match key {
            TRACEPARENT => self.traceparent = Some(value),
            TRACESTATE => self.tracestate = Some(value),
            _ => {}
        }
    }
}

/// The OpenTelemetry context of the innermost traced span among `id` and its ancestors, as
/// `dispatch` records them; `None` when none of them is traced (or the subscriber keeps no
/// span registry). A span the OpenTelemetry layer's filter keeps out has no context of its
/// own, and is skipped, unless it is a hop of an unsampled trace: then its context is the
/// one it carries on ([`TraceContext::hop_span`]).
pub fn nearest_traced_context(
    dispatch: &tracing::Dispatch,
    id: &tracing::span::Id,
) -> Option<opentelemetry::Context> {
    let registry = dispatch.downcast_ref::<tracing_subscriber::Registry>()?;
    let span = LookupSpan::span(registry, id)?;
    span.scope().find_map(|enclosing| {
        tracing_opentelemetry::get_otel_context(&enclosing.id(), dispatch).or_else(|| {
            let extensions = enclosing.extensions();
            extensions
                .get::<CarriedContext>()
                .map(|carried| carried.0.clone())
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLIENT_TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn a_valid_traceparent_names_its_trace() {
        let context = TraceContext::from_stored(Some(CLIENT_TRACEPARENT.into()), None);
        assert_eq!(
            context.trace_id().as_deref(),
            Some("4bf92f3577b34da6a3ce929d0e0e4736")
        );
    }

    #[test]
    fn a_malformed_traceparent_names_no_trace() {
        let context = TraceContext::from_stored(Some("00-nonsense-01".into()), None);
        assert_eq!(context.trace_id(), None);
    }

    #[test]
    fn without_an_opentelemetry_layer_a_span_has_no_context() {
        let span = tracing::info_span!("untraced");
        assert!(TraceContext::of_span(&span).is_none());
    }

    #[test]
    fn without_an_opentelemetry_layer_an_unsampled_context_is_not_handed_on() {
        let unsampled = TraceContext::from_stored(
            Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00".into()),
            None,
        );
        let subscriber = tracing_subscriber::registry();
        tracing::subscriber::with_default(subscriber, || {
            let hop =
                crate::hop_span!(&unsampled, "hop", otel.name = %"hop", otel.kind = "consumer");
            assert!(
                TraceContext::of_span(&hop).is_none(),
                "as with a sampled one"
            );
        });
    }

    #[test]
    fn headers_carry_both_fields() {
        let context = TraceContext::from_stored(
            Some(CLIENT_TRACEPARENT.into()),
            Some("vendor=opaque".into()),
        );
        let mut headers = BTreeMap::new();
        context.write_to(&mut headers);
        let read = TraceContext::from_headers(|name| headers.get(name).map(String::as_str));
        assert_eq!(read, context);
    }
}
