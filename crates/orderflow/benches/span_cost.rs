//! What tracing costs per order, apart from the rest of the service (issue 17's ≤ 10 % is
//! judged on the whole service by `scripts/bench-tracing`; this isolates the part tracing
//! adds, which that run's noise hides).
//!
//! One order's spans and context hand-offs, shaped as the service makes them when an order
//! is placed: the HTTP request (continuing the client's `traceparent` if any) with the
//! untraced correlation and mediator spans inside it, the context stored with the events;
//! the search projection and the integration outbox each handling the events in the span
//! the service's own `EventSpans` opens (the outbox handing the context on to its
//! message); the gateway's read model, its notifier (which publishes a push) and the hub
//! relay each consuming a message; each hop's span entered and left as often as the future
//! it instruments is polled (`ORDERFLOW_BENCH_POLLS`, 3). They run under the subscriber `orderflow` installs
//! (`telemetry::subscriber`, log lines at `warn` as in `scripts/bench-tracing`), with
//! export off, on with no trace sampled (`OTEL_TRACES_SAMPLER=always_off`), and on with
//! every trace exported over OTLP/HTTP to a sink in the parent process. Each mode runs in a
//! child process, which prints its CPU time (user + system, so the exporter's thread
//! counts) per order.
//!
//! ```text
//! cargo bench -p orderflow --bench span_cost
//! ORDERFLOW_BENCH_ORDERS=50000 cargo bench -p orderflow --bench span_cost
//! ORDERFLOW_BENCH_POLLS=0 cargo bench -p orderflow --bench span_cost   # each span entered n times (3)
//! ```
#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use orderflow::telemetry::{ExportSettings, subscriber};
use orderflow_app::TraceContext;
use orderflow_app::ports::{EventMetadata, Position, RecordedEvent, StreamName};
use orderflow_app::subscription::EventSpans;
use tracing::field::Empty;
use tracing_subscriber::EnvFilter;
use uuid::Uuid;

// The binary's allocator: what the spans cost there.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Orders per run, unless `ORDERFLOW_BENCH_ORDERS` says otherwise.
const ORDERS: usize = 100_000;

/// How often each hop's span is entered (its future polled), unless `ORDERFLOW_BENCH_POLLS`
/// says otherwise.
const POLLS: usize = 3;

/// `/proc`'s clock ticks per second (USER_HZ, 100 on Linux).
const TICKS_PER_SECOND: f64 = 100.0;

/// The spans' target: the OpenTelemetry layer traces only orderflow's own.
const TARGET: &str = "orderflow::bench";

/// Names the mode a child process runs. The parent runs the sink and one child per mode and
/// round, each with the environment its mode needs (the exporter reads its endpoint, and
/// the SDK its sampler, from there), so the sink's CPU is not the child's.
const MODE: &str = "ORDERFLOW_SPAN_COST_MODE";

fn main() {
    if let Ok(mode) = std::env::var(MODE) {
        return run(&mode);
    }
    let orders = setting("ORDERFLOW_BENCH_ORDERS", ORDERS);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let received = Arc::new(AtomicUsize::new(0));
    let endpoint = runtime.block_on(sink(received.clone()));
    println!("mode        CPU µs/order  wall µs/order  OTLP bytes/order");
    for _round in 0..3 {
        for mode in ["off", "unsampled", "on"] {
            let before = received.load(Ordering::Relaxed);
            let mut child = std::process::Command::new(std::env::current_exe().unwrap());
            child
                .env(MODE, mode)
                .env_remove("OTEL_TRACES_SAMPLER")
                .env_remove("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
            if mode != "off" {
                child.env("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint);
            }
            if mode == "unsampled" {
                child.env("OTEL_TRACES_SAMPLER", "always_off");
            }
            let output = child.output().unwrap();
            assert!(output.status.success(), "{mode}: {output:?}");
            let bytes = (received.load(Ordering::Relaxed) - before) / orders;
            let measured = String::from_utf8_lossy(&output.stdout);
            println!("{mode:<10}  {}  {bytes:>16}", measured.trim_end());
        }
    }
}

/// One child's run of `mode`: prints its CPU and wall time per order.
fn run(mode: &str) {
    let orders = setting("ORDERFLOW_BENCH_ORDERS", ORDERS);
    let polls = setting("ORDERFLOW_BENCH_POLLS", POLLS);
    // As the binary reads them: the parent set the endpoint (and the sampler) for this
    // mode; the batch processor's `OTEL_BSP_*` variables pass through.
    let settings = ExportSettings::from_env().unwrap();
    assert_eq!(settings.is_some(), mode != "off");
    let (subscriber, telemetry) =
        subscriber(settings.as_ref(), "bench", EnvFilter::new("warn"), false);
    let dispatch = tracing::Dispatch::new(subscriber);
    let cpu_before = process_cpu_seconds();
    let started = Instant::now();
    tracing::dispatcher::with_default(&dispatch, || {
        for _ in 0..orders {
            one_order(polls);
        }
    });
    telemetry.shutdown();
    let wall = started.elapsed().as_secs_f64();
    let cpu = process_cpu_seconds() - cpu_before;
    let per_order = |seconds: f64| seconds * 1e6 / orders as f64;
    print!("{:>12.2}  {:>13.2}", per_order(cpu), per_order(wall));
}

/// One order, as the module's header describes it.
fn one_order(polls: usize) {
    let client = TraceContext::from_headers(|_| None);
    // As the service's `trace_request` makes it, with this bench's target.
    let request = orderflow_app::hop_span!(
        &client,
        target: TARGET,
        "HTTP request",
        otel.name = %"POST /orders",
        otel.kind = "server",
        http.request.method = %"POST",
        http.route = "/orders",
        url.path = %"/orders",
        http.response.status_code = Empty,
    );
    let stored = request.in_scope(|| {
        let correlated = tracing::info_span!(target: TARGET, "correlated", correlation_id = %Uuid::new_v4());
        let mediator = tracing::info_span!(target: TARGET, parent: &correlated, "mediator", request = "PlaceOrder");
        mediator.in_scope(TraceContext::current)
    });
    polled(&request, polls);
    request.record("http.response.status_code", 201);
    drop(request);

    // The subscriptions' spans, made by the service's own `EventSpans`.
    let event = order_created(stored);
    let mut search = EventSpans::new("search-projection");
    polled(&search.span_for(&event), polls);
    let mut outbox = EventSpans::new("integration-outbox");
    let outbox_span = outbox.span_for(&event);
    polled(&outbox_span, polls);
    let published = TraceContext::of_span(&outbox_span);
    drop(outbox);

    polled(&message_span("gateway.read-model", &published), polls);
    let notifier = message_span("gateway.notifier", &published);
    polled(&notifier, polls);
    let push = TraceContext::of_span(&notifier);
    drop(notifier);
    polled(&message_span("push-hub", &push), polls);
}

/// Enters and leaves `span` as often as the future it instruments would be polled.
fn polled(span: &tracing::Span, polls: usize) {
    for _ in 0..polls {
        drop(span.enter());
    }
}

/// One of the order's events as a subscription reads it, carrying the request's context.
fn order_created(trace: TraceContext) -> RecordedEvent {
    RecordedEvent {
        id: Uuid::new_v4(),
        stream: StreamName::parse("order-1").unwrap(),
        revision: 0,
        position: Position::new(42),
        event_type: "OrderCreated".to_owned(),
        schema_version: 1,
        data: serde_json::Value::Null,
        metadata: EventMetadata {
            correlation_id: Uuid::new_v4(),
            causation_id: Uuid::new_v4(),
            user_id: Some("alice".to_owned()),
            occurred_at: time::OffsetDateTime::UNIX_EPOCH,
            trace,
        },
    }
}

/// The span of a consumed message, as the consumer runner makes it (`StagedHandler::span`,
/// or the untraced hop of a trace that was not sampled), continuing `trace`.
fn message_span(queue: &str, trace: &TraceContext) -> tracing::Span {
    orderflow_app::hop_span!(
        trace,
        target: TARGET,
        "handle message",
        otel.name = %format_args!("{queue} OrderCreatedIntegrationEvent"),
        otel.kind = "consumer",
        message_id = %Uuid::new_v4(),
    )
}

/// An OTLP/HTTP endpoint that answers every export 200 and counts the bytes it got.
async fn sink(received: Arc<AtomicUsize>) -> String {
    let app = axum::Router::new().route(
        "/v1/traces",
        axum::routing::post(move |body: axum::body::Bytes| {
            let received = received.clone();
            async move {
                received.fetch_add(body.len(), Ordering::Relaxed);
                [("content-type", "application/x-protobuf")]
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{address}")
}

/// User + system CPU time of this process so far.
fn process_cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let after_name = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = after_name.split(' ').collect();
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the name.
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    ticks / TICKS_PER_SECOND
}

/// The number in the environment variable `name` (the parent's, which its children
/// inherit), or `default` when it is unset.
fn setting(name: &str, default: usize) -> usize {
    std::env::var(name).map_or(default, |value| {
        value
            .parse()
            .unwrap_or_else(|_| panic!("{name}={value:?} is not a number"))
    })
}
