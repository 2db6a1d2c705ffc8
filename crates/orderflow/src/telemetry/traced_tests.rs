//! Unit tests of which spans the OpenTelemetry layer traces: only those named for
//! OpenTelemetry (`otel.name`); a span kept out hands on its nearest traced ancestor's
//! context, and a traced span inside it continues that ancestor's trace.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::SdkTracerProvider;
use orderflow_app::TraceContext;
use tracing_subscriber::layer::SubscriberExt;

use super::*;
use crate::telemetry::captured_lines::CapturedLines;

/// Runs `work` with the traces layer, exporting nowhere, beside a log layer that wants
/// every span (as the logs at info do), writing nowhere.
fn traced<T>(work: impl FnOnce() -> T) -> T {
    traced_and_ended(work).0
}

#[test]
fn only_spans_named_for_opentelemetry_are_traced() {
    traced(|| {
        let hop = tracing::info_span!("hop", otel.name = "hop");
        let scoping = tracing::info_span!("request");
        let detail = tracing::debug_span!("detail", otel.name = "detail");
        assert!(TraceContext::of_span(&hop).trace_id().is_some());
        assert!(
            TraceContext::of_span(&scoping).is_none(),
            "no traced ancestor"
        );
        assert!(TraceContext::of_span(&detail).is_none(), "below info");
    });
}

#[test]
fn an_untraced_span_hands_on_its_traced_ancestors_context() {
    traced(|| {
        let hop = tracing::info_span!("hop", otel.name = "hop");
        let (of_scoping, current, next) = hop.in_scope(|| {
            let scoping = tracing::info_span!("request");
            scoping.in_scope(|| {
                let next = tracing::info_span!("next", otel.name = "next");
                (
                    TraceContext::of_span(&scoping),
                    TraceContext::current(),
                    TraceContext::of_span(&next),
                )
            })
        });
        let of_hop = TraceContext::of_span(&hop);
        assert!(of_hop.trace_id().is_some());
        assert_eq!(of_scoping, of_hop, "the ancestor's span is the parent");
        assert_eq!(current, of_hop);
        assert_eq!(next.trace_id(), of_hop.trace_id(), "one trace");
        assert_ne!(next, of_hop, "the traced span is a span of its own");
    });
}

/// A trace's `traceparent`, its sampled flag on (`01`) or off (`00`).
fn carried(sampled: bool) -> TraceContext {
    let flags = if sampled { "01" } else { "00" };
    TraceContext::from_stored(
        Some(format!(
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-{flags}"
        )),
        None,
    )
}

/// Every span the provider ended, as the exporter would get it.
#[derive(Debug, Default, Clone)]
struct Ended(std::sync::Arc<std::sync::Mutex<Vec<opentelemetry_sdk::trace::SpanData>>>);

impl opentelemetry_sdk::trace::SpanProcessor for Ended {
    fn on_start(&self, _: &mut opentelemetry_sdk::trace::Span, _: &opentelemetry::Context) {}

    fn on_end(&self, span: opentelemetry_sdk::trace::SpanData) {
        self.0.lock().unwrap().push(span);
    }

    fn force_flush(&self) -> opentelemetry_sdk::error::OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(
        &self,
        _: std::time::Duration,
    ) -> opentelemetry_sdk::error::OTelSdkResult {
        Ok(())
    }
}

/// [`traced`], with the spans ended meanwhile (kept by the provider, exported nowhere).
fn traced_and_ended<T>(work: impl FnOnce() -> T) -> (T, Vec<opentelemetry_sdk::trace::SpanData>) {
    let ended = Ended::default();
    let provider = SdkTracerProvider::builder()
        .with_span_processor(ended.clone())
        .build();
    let subscriber = tracing_subscriber::registry()
        .with(traces_layer(provider.tracer("test")))
        .with(tracing_subscriber::fmt::layer().with_writer(std::io::sink));
    let result = tracing::subscriber::with_default(subscriber, work);
    let spans = std::mem::take(&mut *ended.0.lock().unwrap());
    (result, spans)
}

#[test]
fn a_hop_of_an_unsampled_trace_makes_no_span_and_hands_the_context_on_unchanged() {
    let unsampled = carried(false);
    let ((of_hop, inside, of_next), ended) = traced_and_ended(|| {
        let hop = orderflow_app::hop_span!(
            &unsampled,
            "hop",
            otel.name = %"hop",
            otel.kind = "consumer",
            n = 1,
        );
        hop.in_scope(|| {
            let detail = tracing::info_span!("detail");
            let next = orderflow_app::hop_span!(
                &TraceContext::current(),
                "next",
                otel.name = %"next",
                otel.kind = "producer",
            );
            (
                TraceContext::of_span(&hop),
                TraceContext::of_span(&detail),
                TraceContext::of_span(&next),
            )
        })
    });
    assert_eq!(of_hop, unsampled, "no span id of its own is minted");
    assert_eq!(inside, unsampled);
    assert_eq!(of_next, unsampled, "the next hop carries it on too");
    assert!(ended.is_empty());
}

/// A consumer's hop named `hop`, carrying `carried` in.
fn hop_carrying(carried: &TraceContext) -> tracing::Span {
    orderflow_app::hop_span!(carried, "hop", otel.name = %"hop", otel.kind = "consumer")
}

#[test]
fn a_hop_of_a_sampled_trace_is_a_traced_child_of_it() {
    let sampled = carried(true);
    let (of_hop, ended) = traced_and_ended(|| TraceContext::of_span(&hop_carrying(&sampled)));
    assert_eq!(of_hop.trace_id(), sampled.trace_id());
    assert_ne!(of_hop, sampled, "a span of its own");
    let [span] = ended.as_slice() else {
        panic!("one span ended: {ended:?}");
    };
    assert_eq!(span.name, "hop");
    assert_eq!(span.parent_span_id.to_string(), "00f067aa0ba902b7");
}

#[test]
fn an_exported_hop_carries_its_own_fields_and_nothing_else() {
    let ((), ended) = traced_and_ended(|| {
        let hop = orderflow_app::hop_span!(
            &TraceContext::none(),
            "hop",
            otel.name = %"search OrderCreated",
            otel.kind = "consumer",
            position = 7,
        );
        hop.in_scope(|| {});
    });
    let [span] = ended.as_slice() else {
        panic!("one span ended: {ended:?}");
    };
    let keys: Vec<&str> = span
        .attributes
        .iter()
        .map(|attribute| attribute.key.as_str())
        .collect();
    // No `target`, thread or code location: each would be on every span exported.
    assert_eq!(keys, ["position"]);
}

#[test]
fn an_untraced_hop_still_names_itself_in_its_log_lines() {
    let unsampled = carried(false);
    let line = logged_within(|| {
        orderflow_app::hop_span!(
            &unsampled,
            "handle event",
            otel.name = %"search OrderCreated",
            otel.kind = "consumer",
            position = 7,
        )
    });
    assert!(line.contains("hop=search OrderCreated"), "{line}");
    assert!(line.contains("position=7"), "{line}");
}

/// The text log line of an event logged inside the span `span` makes.
fn logged_within(span: impl FnOnce() -> tracing::Span) -> String {
    let lines = CapturedLines::default();
    let subscriber = tracing_subscriber::registry().with(
        tracing_subscriber::fmt::layer()
            .with_ansi(false)
            .with_writer(lines.clone()),
    );
    tracing::subscriber::with_default(subscriber, || {
        let _entered = span().entered();
        tracing::info!("handled");
    });
    lines.text()
}

#[test]
fn an_unsampled_context_is_handed_on_whatever_the_log_level() {
    let unsampled = carried(false);
    let provider = SdkTracerProvider::builder().build();
    // Logs at warn: no log layer wants an info span.
    let subscriber = tracing_subscriber::registry()
        .with(traces_layer(provider.tracer("test")))
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::sink)
                .with_filter(EnvFilter::new("warn")),
        );
    let handed_on = tracing::subscriber::with_default(subscriber, || {
        TraceContext::of_span(&hop_carrying(&unsampled))
    });
    assert_eq!(handed_on, unsampled);
}
