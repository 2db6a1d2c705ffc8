//! Logs and traces. Logging: `tracing` to stderr, filtered by `RUST_LOG` (default: info for
//! orderflow, warnings for libraries), as JSON lines when `ORDERFLOW_LOG_FORMAT=json`; a line
//! written inside a traced span carries its `trace_id` and `span_id` ([`log_ids`]). Traces:
//! when the standard `OTEL_*` variables ask for export over OTLP ([`export`]), orderflow's
//! spans become OpenTelemetry spans (`tracing-opentelemetry`), so every request, event and
//! message has a W3C trace context to hand on; without them no OpenTelemetry span is made.
//!
//! Text lines are plain (no ANSI colour codes), since the ids are appended to each line
//! after it is formatted.
//!
//! Guarantees: with no `OTEL_EXPORTER_OTLP_*ENDPOINT` set nothing is exported, no
//! connection is opened and no OpenTelemetry span is made; exporting never blocks the code that ends a span (a bounded queue,
//! a background thread; spans that do not fit are dropped and counted).

#[cfg(test)]
mod captured_lines;
mod export;
mod log_ids;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::{Identity, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{Layer, fmt};

pub use export::{ExportSettings, ExportSettingsError};

/// The tracer provider, to flush and stop when the process ends.
#[derive(Debug)]
pub struct Telemetry {
    provider: SdkTracerProvider,
}

impl Telemetry {
    /// Exports what is still queued (bounded by the exporter's timeout) and stops.
    pub fn shutdown(self) {
        if let Err(error) = self.provider.shutdown() {
            eprintln!("traces not flushed: {error}");
        }
    }
}

/// Sets up logging and tracing for `component` (the default `service.name` is
/// `orderflow-<component>`).
pub fn init(component: &str) -> Telemetry {
    let settings = ExportSettings::from_env().unwrap_or_else(|error| {
        eprintln!("trace export not configured: {error}");
        None
    });
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=warn,hyper=warn"));
    let json = std::env::var("ORDERFLOW_LOG_FORMAT").is_ok_and(|format| format == "json");
    let (subscriber, telemetry) = subscriber(settings.as_ref(), component, filter, json);
    if let Err(error) = subscriber.try_init() {
        eprintln!("logging not initialised: {error}");
    }
    telemetry
}

/// The subscriber [`init`] installs, built from explicit settings (the span-cost benchmark
/// builds it too): log lines through `filter` to stderr (JSON lines when `json`), and, when
/// `settings` asks for export, the OpenTelemetry layer.
pub fn subscriber(
    settings: Option<&ExportSettings>,
    component: &str,
    filter: EnvFilter,
    json: bool,
) -> (impl tracing::Subscriber + Send + Sync + 'static, Telemetry) {
    let provider = export::tracer_provider(settings, component);
    let tracer = provider.tracer("orderflow");
    // Without export there are no OpenTelemetry spans at all: making them cost a third of
    // `up`'s CPU per order (docs/BENCHMARKS.md, "Tracing overhead"), for trace ids nobody
    // could look up. So with export off no trace context is recorded or handed on, as before
    // tracing existed; `tracing` spans still scope the log lines.
    let traces = settings.is_some().then(|| traces_layer(tracer));
    let dispatch = log_ids::InstalledDispatch::default();
    let logs = if json {
        fmt::layer()
            .with_writer(std::io::stderr)
            .event_format(log_ids::WithTraceIds::json(
                fmt::format().json(),
                dispatch.clone(),
            ))
            .fmt_fields(fmt::format::JsonFields::new())
            .with_filter(filter)
            .boxed()
    } else {
        fmt::layer()
            .with_writer(std::io::stderr)
            .with_ansi(false)
            .event_format(log_ids::WithTraceIds::text(fmt::format(), dispatch.clone()))
            .with_filter(filter)
            .boxed()
    };
    let subscriber = tracing_subscriber::registry()
        .with(traces)
        .with(logs)
        .with(dispatch);
    (subscriber, Telemetry { provider })
}

/// The OpenTelemetry layer: only orderflow's own spans that name themselves for
/// OpenTelemetry (`otel.name`: the HTTP request, each subscription's handling of an order's
/// events, each consumed message, the hub's relay and push) are traced, at info and above,
/// whatever RUST_LOG says about the log lines. The spans that only give log lines their
/// context (the correlation id, the mediator's request, the adapters' calls) are not: each
/// hop is one span, which keeps export's cost per order down (docs/BENCHMARKS.md, "Tracing
/// overhead"). A traced span inside untraced ones is the child of the nearest traced
/// ancestor, and what is handed on from an untraced span is that ancestor's context
/// ([`orderflow_app::TraceContext::of_span`]). Log events stay in the logs (with the trace
/// ids) and are not copied into the spans, which would multiply what is exported. The
/// filter ([`orderflow_app::TracedSpans`]) also tells the hops that traces are recorded, so
/// an unsampled trace's context is handed on ([`orderflow_app::TraceContext::hop_span`]),
/// by a span that [`orderflow_app::UntracedHops`] keeps in being.
fn traces_layer<S>(tracer: opentelemetry_sdk::trace::Tracer) -> impl Layer<S>
where
    S: tracing::Subscriber + for<'span> tracing_subscriber::registry::LookupSpan<'span>,
{
    tracing_opentelemetry::layer()
        .with_tracer(tracer)
        .with_location(false)
        .with_threads(false)
        // The module a span was made in (`target`) would be one more attribute on every
        // span, ~50 of a span's ~250 exported bytes; each hop's name already says what it is.
        .with_target(false)
        // Busy/idle time would read the clock on every poll of every instrumented
        // future; the span's own start and end say how long it took.
        .with_tracked_inactivity(false)
        // Trace context is handed on from the `tracing` span (`OpenTelemetrySpanExt`),
        // never from OpenTelemetry's thread-local current context, so it need not be
        // swapped in on every poll either.
        .with_context_activation(false)
        .with_filter(orderflow_app::TracedSpans)
        // Keeps the hops of unsampled traces in being, whatever the log level, to hand
        // their context on; OpenTelemetry never sees them.
        .and_then(Identity::new().with_filter(orderflow_app::UntracedHops))
}

#[cfg(test)]
#[path = "traced_tests.rs"]
mod tests;
