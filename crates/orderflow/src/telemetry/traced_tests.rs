//! Unit tests of which spans the OpenTelemetry layer traces: only those named for
//! OpenTelemetry (`otel.name`); a span kept out hands on its nearest traced ancestor's
//! context, and a traced span inside it continues that ancestor's trace.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::SdkTracerProvider;
use orderflow_app::TraceContext;
use tracing_subscriber::layer::SubscriberExt;

use super::*;

/// Runs `work` with the traces layer, exporting nowhere, beside a log layer that wants
/// every span (as the logs at info do), writing nowhere.
fn traced<T>(work: impl FnOnce() -> T) -> T {
    let provider = SdkTracerProvider::builder().build();
    let subscriber = tracing_subscriber::registry()
        .with(traces_layer(provider.tracer("test")))
        .with(tracing_subscriber::fmt::layer().with_writer(std::io::sink));
    tracing::subscriber::with_default(subscriber, work)
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
