//! OTLP export of the spans, switched on by the standard OpenTelemetry variables.
//!
//! Guarantees:
//! - export is on only when `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` or
//!   `OTEL_EXPORTER_OTLP_ENDPOINT` is set (and neither `OTEL_SDK_DISABLED=true` nor
//!   `OTEL_TRACES_EXPORTER=none` says otherwise); unset, spans are still made (their trace
//!   context travels with events and messages, and into the logs) but nothing is sent and no
//!   connection is opened;
//! - the exporter is OTLP over HTTP with protobuf bodies (`opentelemetry-otlp`), configured
//!   by the usual `OTEL_EXPORTER_OTLP_*` variables (endpoint, headers, timeout) and
//!   `OTEL_BSP_*` (batching: larger batches by default than the SDK's, see
//!   [`DEFAULT_EXPORT_BATCH_SIZE`]); the resource by `OTEL_SERVICE_NAME` and
//!   `OTEL_RESOURCE_ATTRIBUTES`, with `orderflow-<component>` as the default service name;
//! - ending a span never waits for the collector: spans go into the batch processor's
//!   bounded queue (`OTEL_BSP_MAX_QUEUE_SIZE`, 8192) and are sent from its own thread. A span
//!   that finds the queue full is dropped and counted in
//!   `orderflow_trace_spans_dropped_total{reason="queue_full"}`; the spans of a batch the
//!   collector did not take (down, refusing, too slow) in
//!   `orderflow_trace_spans_dropped_total{reason="export_failed"}`; exported ones in
//!   `orderflow_trace_spans_exported_total`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use opentelemetry::Context;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{
    BatchConfigBuilder, BatchSpanProcessor, SdkTracerProvider, Span, SpanData, SpanExporter,
    SpanProcessor,
};

/// The batch processor's queue when `OTEL_BSP_MAX_QUEUE_SIZE` does not say: four batches.
const DEFAULT_QUEUE_SIZE: usize = 4 * DEFAULT_EXPORT_BATCH_SIZE;

/// Spans per export when `OTEL_BSP_MAX_EXPORT_BATCH_SIZE` does not say: four times the
/// SDK's 512. An order makes about six spans, so at a few thousand orders a second the
/// SDK's batches meant ~80 exports a second, and each costs the collector (and the
/// exporter) a request: with 2,048, `POST /orders` on `up` did ~5 % more with every trace
/// exported and the collector spent 5 µs per order instead of 12 (docs/BENCHMARKS.md,
/// "Tracing overhead"). A batch still leaves at the schedule delay when it is not full.
const DEFAULT_EXPORT_BATCH_SIZE: usize = 2048;

/// Export is configured: where to, and how many spans may wait.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportSettings {
    /// The endpoint variable that switched export on, for the start-up log.
    pub endpoint: String,
    pub max_queue_size: usize,
    /// Spans per export (at most `max_queue_size`).
    pub max_export_batch_size: usize,
}

/// A variable that switches export on but cannot be understood.
#[derive(Debug, thiserror::Error)]
pub enum ExportSettingsError {
    #[error("OTEL_BSP_MAX_QUEUE_SIZE={0:?} is not a positive number")]
    QueueSize(String),
    #[error("OTEL_BSP_MAX_EXPORT_BATCH_SIZE={0:?} is not a positive number")]
    ExportBatchSize(String),
    #[error("OTEL_EXPORTER_OTLP_PROTOCOL={0:?}: only http/protobuf is supported")]
    Protocol(String),
}

impl ExportSettings {
    /// The settings the process environment asks for; `None`: export is off.
    pub fn from_env() -> Result<Option<Self>, ExportSettingsError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    fn from_lookup(
        variable: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<Self>, ExportSettingsError> {
        let set = |name: &str| variable(name).filter(|value| !value.trim().is_empty());
        let disabled = set("OTEL_SDK_DISABLED").is_some_and(|value| value.trim() == "true")
            || set("OTEL_TRACES_EXPORTER").is_some_and(|value| value.trim() == "none");
        let endpoint = set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
            .or_else(|| set("OTEL_EXPORTER_OTLP_ENDPOINT"));
        let Some(endpoint) = endpoint.filter(|_| !disabled) else {
            return Ok(None);
        };
        let protocol = set("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
            .or_else(|| set("OTEL_EXPORTER_OTLP_PROTOCOL"));
        if let Some(protocol) = protocol.filter(|protocol| protocol.trim() != "http/protobuf") {
            return Err(ExportSettingsError::Protocol(protocol));
        }
        let max_queue_size = positive(set("OTEL_BSP_MAX_QUEUE_SIZE"), DEFAULT_QUEUE_SIZE)
            .map_err(ExportSettingsError::QueueSize)?;
        let max_export_batch_size = positive(
            set("OTEL_BSP_MAX_EXPORT_BATCH_SIZE"),
            DEFAULT_EXPORT_BATCH_SIZE,
        )
        .map_err(ExportSettingsError::ExportBatchSize)?;
        Ok(Some(ExportSettings {
            endpoint,
            max_queue_size,
            // As the SDK does: a batch never holds more than the queue.
            max_export_batch_size: max_export_batch_size.min(max_queue_size),
        }))
    }
}

/// The positive number a variable says, `default` when it is unset; its text when it is
/// not a positive number.
fn positive(text: Option<String>, default: usize) -> Result<usize, String> {
    match text {
        None => Ok(default),
        Some(text) => match text.trim().parse() {
            Ok(size) if size > 0 => Ok(size),
            _ => Err(text),
        },
    }
}

/// The tracer provider: exporting per `settings`, or keeping spans to itself.
pub(super) fn tracer_provider(
    settings: Option<&ExportSettings>,
    component: &str,
) -> SdkTracerProvider {
    let mut resource = Resource::builder();
    let named_by_environment = std::env::var_os("OTEL_SERVICE_NAME").is_some()
        || std::env::var("OTEL_RESOURCE_ATTRIBUTES")
            .is_ok_and(|attributes| attributes.contains("service.name="));
    if !named_by_environment {
        resource = resource.with_service_name(format!("orderflow-{component}"));
    }
    let builder = SdkTracerProvider::builder().with_resource(resource.build());
    let Some(settings) = settings else {
        return builder.build();
    };
    orderflow_auth::install_tls_crypto_provider();
    let exporter = match opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .build()
    {
        Ok(exporter) => exporter,
        Err(error) => {
            eprintln!("trace export not started: {error}");
            return builder.build();
        }
    };
    let queued = Arc::new(AtomicUsize::new(0));
    let batches = BatchSpanProcessor::builder(CountedExporter {
        inner: exporter,
        queued: queued.clone(),
    })
    .with_batch_config(
        BatchConfigBuilder::default()
            .with_max_queue_size(settings.max_queue_size)
            .with_max_export_batch_size(settings.max_export_batch_size)
            .build(),
    )
    .build();
    builder
        .with_span_processor(BoundedQueue {
            inner: batches,
            queued,
            capacity: settings.max_queue_size,
        })
        .build()
}

/// In front of the batch processor: counts the spans waiting for export, and drops (and
/// counts) a span that would not fit, so the processor's own queue never overflows
/// uncounted.
#[derive(Debug)]
struct BoundedQueue<P> {
    inner: P,
    /// Spans handed to `inner` and not yet given to the exporter.
    queued: Arc<AtomicUsize>,
    capacity: usize,
}

impl<P: SpanProcessor> SpanProcessor for BoundedQueue<P> {
    fn on_start(&self, span: &mut Span, context: &Context) {
        self.inner.on_start(span, context);
    }

    fn on_end(&self, span: SpanData) {
        let admitted = self
            .queued
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |queued| {
                (queued < self.capacity).then_some(queued + 1)
            })
            .is_ok();
        if admitted {
            self.inner.on_end(span);
        } else {
            metrics::counter!("orderflow_trace_spans_dropped_total", "reason" => "queue_full")
                .increment(1);
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

/// The OTLP exporter, counting what it sent and what it lost.
#[derive(Debug)]
struct CountedExporter<E> {
    inner: E,
    queued: Arc<AtomicUsize>,
}

impl<E: SpanExporter> SpanExporter for CountedExporter<E> {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let spans = batch.len();
        // Taken out of the queue: room for as many new spans.
        let _before = self
            .queued
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |queued| {
                Some(queued.saturating_sub(spans))
            });
        let exported = self.inner.export(batch).await;
        let counted = spans as u64;
        match &exported {
            Ok(()) => metrics::counter!("orderflow_trace_spans_exported_total").increment(counted),
            Err(_) => {
                metrics::counter!("orderflow_trace_spans_dropped_total", "reason" => "export_failed")
                    .increment(counted);
            }
        }
        exported
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(variables: &[(&str, &str)]) -> Result<Option<ExportSettings>, ExportSettingsError> {
        ExportSettings::from_lookup(|name| {
            variables
                .iter()
                .find(|(variable, _)| *variable == name)
                .map(|(_, value)| (*value).to_owned())
        })
    }

    #[test]
    fn without_an_endpoint_nothing_is_exported() {
        assert_eq!(settings(&[("OTEL_SERVICE_NAME", "orders")]).unwrap(), None);
        assert_eq!(
            settings(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "  ")]).unwrap(),
            None
        );
    }

    #[test]
    fn either_endpoint_switches_export_on_unless_disabled() {
        let on = settings(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")])
            .unwrap()
            .unwrap();
        assert_eq!(on.max_queue_size, 8192);
        assert_eq!(on.max_export_batch_size, 2048);
        let traces_only = settings(&[(
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            "http://127.0.0.1:4318/v1/traces",
        )])
        .unwrap();
        assert!(traces_only.is_some());
        for off in [
            ("OTEL_SDK_DISABLED", "true"),
            ("OTEL_TRACES_EXPORTER", "none"),
        ] {
            let disabled = settings(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"), off]);
            assert_eq!(disabled.unwrap(), None, "{off:?}");
        }
    }

    #[test]
    fn a_grpc_protocol_or_a_bad_size_is_refused() {
        let endpoint = ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4317");
        assert!(matches!(
            settings(&[endpoint, ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")]),
            Err(ExportSettingsError::Protocol(_))
        ));
        assert!(matches!(
            settings(&[endpoint, ("OTEL_BSP_MAX_QUEUE_SIZE", "0")]),
            Err(ExportSettingsError::QueueSize(_))
        ));
        assert!(matches!(
            settings(&[endpoint, ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "many")]),
            Err(ExportSettingsError::ExportBatchSize(_))
        ));
        let sized = settings(&[endpoint, ("OTEL_BSP_MAX_QUEUE_SIZE", "64")])
            .unwrap()
            .unwrap();
        assert_eq!(sized.max_queue_size, 64);
        assert_eq!(
            sized.max_export_batch_size, 64,
            "no batch larger than the queue"
        );
        let batched = settings(&[endpoint, ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "512")])
            .unwrap()
            .unwrap();
        assert_eq!(batched.max_export_batch_size, 512);
    }
}
