//! `GET /metrics` in the Prometheus text format, on every command's
//! listener.
//!
//! Guarantees:
//! * **One recorder per process.** Every crate records through the `metrics`
//!   facade; the first application built in a process installs the Prometheus
//!   recorder, later ones (tests build several) share it.
//! * **Durations are histograms** with fixed buckets from 0.5 ms to 10 s
//!   (`*_seconds`), so they aggregate across instances; so are the event store's sizes
//!   (`orderflow_event_store_*`, powers of two from 1 to 1,024).
//! * **What is cheaper to read than to maintain is read at scrape time**: the
//!   event store's head (`orderflow_event_store_head_position`) and the hub's
//!   live connections (`orderflow_hub_connections`), and each running subscription's lag
//!   behind the head, in events (`orderflow_subscription_lag_events`) and in seconds, the
//!   age of its oldest unhandled event (`orderflow_subscription_lag_seconds`).
//! * **Bounded memory without scrapes**: the recorder's upkeep runs every few
//!   seconds whether or not anyone scrapes.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::get;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use orderflow_app::ports::{EventStore, Position};
use orderflow_hub::PushHub;
use time::OffsetDateTime;

/// Where the recorder's buckets for durations lie, in seconds.
const DURATION_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Where the recorder's buckets for the event store's sizes lie (appends or events per
/// commit, events per append).
const SIZE_BUCKETS: &[f64] = &[
    1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0,
];

/// How often the recorder's upkeep runs.
pub(crate) const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

/// The process's recorder, installed on first use.
pub(crate) fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let builder = match PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), DURATION_BUCKETS)
            .and_then(|builder| {
                builder.set_buckets_for_metric(
                    Matcher::Prefix("orderflow_event_store_".into()),
                    SIZE_BUCKETS,
                )
            }) {
            Ok(with_buckets) => with_buckets,
            Err(error) => {
                // Only an empty bucket list fails, and neither list is empty.
                tracing::warn!(%error, "cannot set histogram buckets; durations become summaries");
                PrometheusBuilder::new()
            }
        };
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        if let Err(error) = metrics::set_global_recorder(recorder) {
            tracing::warn!(%error, "another metrics recorder is installed; /metrics stays empty");
        }
        describe();
        handle
    })
}

/// The `# HELP` line of every metric orderflow records.
fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        "orderflow_http_requests_total",
        "HTTP requests answered, by method, matched route and status"
    );
    describe_histogram!(
        "orderflow_http_request_duration_seconds",
        "Time to answer an HTTP request, by method and matched route"
    );
    describe_gauge!(
        "orderflow_event_store_head_position",
        "Global position of the newest stored event"
    );
    describe_gauge!(
        "orderflow_subscription_position",
        "Last event position a subscription (projection, outbox) has handled in this process"
    );
    describe_counter!(
        "orderflow_subscription_events_total",
        "Events a subscription has handled in this process"
    );
    describe_histogram!(
        "orderflow_subscription_batch_seconds",
        "Time a subscription's handler took for one batch"
    );
    describe_counter!(
        "orderflow_subscription_failures_total",
        "Failed subscription steps (each is retried with backoff)"
    );
    describe_counter!(
        "orderflow_bus_deliveries_total",
        "Broker deliveries settled, by queue and outcome (handled, duplicate, requeued, dead_lettered)"
    );
    describe_gauge!(
        "orderflow_subscription_lag_events",
        "Events stored after the last one a running subscription handled"
    );
    describe_gauge!(
        "orderflow_subscription_lag_seconds",
        "Age of the oldest event a running subscription has not handled (0 when caught up)"
    );
    describe_histogram!(
        "orderflow_event_store_batch_appends",
        "Appends written by one group commit"
    );
    describe_histogram!(
        "orderflow_event_store_batch_events",
        "Events written by one group commit"
    );
    describe_histogram!(
        "orderflow_event_store_append_events",
        "Events of one written append"
    );
    describe_histogram!(
        "orderflow_bus_publish_seconds",
        "Time to publish a message or batch on RabbitMQ until confirmed (retries included), by outcome"
    );
    describe_histogram!(
        "orderflow_bus_confirm_seconds",
        "Time from the last message sent to the last publisher confirm of a publish"
    );
    describe_gauge!(
        "orderflow_hub_pushes_in_flight",
        "Relayed deliveries whose acknowledgements the hub is awaiting"
    );
    describe_counter!(
        "orderflow_trace_spans_exported_total",
        "Spans the OTLP exporter delivered to the collector"
    );
    describe_counter!(
        "orderflow_trace_spans_dropped_total",
        "Spans lost before the collector took them, by reason (queue_full, export_failed)"
    );
    describe_gauge!(
        "orderflow_hub_connections",
        "Live SignalR connections on this hub"
    );
    describe_counter!(
        "orderflow_hub_push_deliveries_total",
        "PushUpdate invocations by outcome per connection (delivered, timed_out, failed, unacknowledged)"
    );
}

/// Each running subscription's lag behind `head`: in events, and in seconds as the age of
/// the oldest event it has not handled (0 when caught up).
async fn record_lags(events: &dyn EventStore, head: Position) {
    for (subscription, handled) in orderflow_app::subscription::handled_positions() {
        let behind = head.value().saturating_sub(handled.value());
        let age = if behind == 0 {
            Some(0.0)
        } else {
            match events.read_all(handled, 1).await {
                Ok(oldest) => oldest.first().map(|event| {
                    let age = OffsetDateTime::now_utc() - event.metadata.occurred_at;
                    age.as_seconds_f64().max(0.0)
                }),
                Err(error) => {
                    tracing::warn!(%error, %subscription, "cannot read the oldest unhandled event for /metrics");
                    None
                }
            }
        };
        metrics::gauge!("orderflow_subscription_lag_events", "subscription" => subscription.clone())
            .set(behind as f64);
        if let Some(age) = age {
            metrics::gauge!("orderflow_subscription_lag_seconds", "subscription" => subscription)
                .set(age);
        }
    }
}

/// What `/metrics` reads at scrape time.
#[derive(Clone, Default)]
pub(crate) struct ScrapeSources {
    pub(crate) events: Option<Arc<dyn EventStore>>,
    pub(crate) hub: Option<PushHub>,
}

/// `GET /metrics`.
pub(crate) fn metrics_router(sources: ScrapeSources) -> Router {
    Router::new()
        .route("/metrics", get(render))
        .with_state(sources)
}

async fn render(State(sources): State<ScrapeSources>) -> impl IntoResponse {
    if let Some(events) = &sources.events {
        match events.head().await {
            Ok(head) => {
                metrics::gauge!("orderflow_event_store_head_position").set(head.value() as f64);
                record_lags(&**events, head).await;
            }
            Err(error) => tracing::warn!(%error, "cannot read the event store's head for /metrics"),
        }
    }
    if let Some(hub) = &sources.hub {
        metrics::gauge!("orderflow_hub_connections").set(hub.connection_count() as f64);
    }
    let handle = handle();
    handle.run_upkeep();
    (
        [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        handle.render(),
    )
}

#[cfg(test)]
#[path = "prometheus_tests.rs"]
mod tests;
