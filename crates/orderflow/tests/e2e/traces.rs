//! Issue 17 end to end: one trace from the click to the push, across processes. `orders`,
//! `push-hub` and `gateway` run on PostgreSQL and RabbitMQ and export their spans over OTLP
//! (HTTP, protobuf) to a receiver in this test, which decodes them with the
//! `opentelemetry-proto` definitions. Seed 000: `POST /orders` with the client's own
//! `traceparent` is continued (not replaced), and its projection and its integration event
//! are in that one trace; the confirm's span has descendants in the push publisher, the hub's
//! relay and the push to alice's connection, each the child of the one before, and the
//! `PushUpdate` frame a raw WebSocket client receives carries that push span's
//! `traceparent` in its `headers` (JSON hub protocol); a confirm whose client did not sample
//! its trace reaches the wire with the client's `traceparent` unchanged. Seed 002:
//! `POST /api/orders` on the gateway continues into the order service's command consumer.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use orderflow_testkit::signalr::SignalrClient;
use prost::Message as _;
use serde_json::json;

use crate::raw_hub::RawHubClient;
use crate::support::{ServerMode, confirm_order, http, password_token, place_order};

/// The client's span: its trace must be continued by `POST /orders`.
const CLIENT_TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CLIENT_SPAN_ID: &str = "00f067aa0ba902b7";
/// A trace a client started and did not sample (flags `00`).
const UNSAMPLED_TRACE_ID: &str = "0af7651916cd43dd8448eb211c80319c";

/// How long the spans of one flow may take to arrive.
const ARRIVAL: Duration = Duration::from_secs(30);

/// One span as the receiver got it.
#[derive(Debug, Clone)]
struct ReceivedSpan {
    service: String,
    name: String,
    trace_id: String,
    span_id: String,
    /// Empty for a root span.
    parent_span_id: String,
}

/// An OTLP/HTTP trace receiver on a port of its own.
struct Collector {
    address: SocketAddr,
    spans: Arc<Mutex<Vec<ReceivedSpan>>>,
    server: tokio::task::JoinHandle<()>,
}

impl Collector {
    async fn start() -> Self {
        let spans = Arc::new(Mutex::new(Vec::new()));
        let router = axum::Router::new()
            .route("/v1/traces", post(receive))
            .with_state(spans.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            axum::serve(listener, router).await.unwrap();
        });
        Collector {
            address,
            spans,
            server,
        }
    }

    /// The variables that point a component's export here, batches sent every 100 ms.
    fn env(&self, service: &str) -> Vec<(&'static str, String)> {
        vec![
            (
                "OTEL_EXPORTER_OTLP_ENDPOINT",
                format!("http://{}", self.address),
            ),
            ("OTEL_SERVICE_NAME", service.to_owned()),
            ("OTEL_BSP_SCHEDULE_DELAY", "100".to_owned()),
        ]
    }

    /// Waits until `complete` holds for the spans received so far; fails loudly if it
    /// never does, printing what came.
    async fn wait_for(&self, what: &str, complete: impl Fn(&Spans) -> bool) -> Spans {
        let deadline = tokio::time::Instant::now() + ARRIVAL;
        loop {
            let spans = Spans(self.spans.lock().unwrap().clone());
            if complete(&spans) {
                return spans;
            }
            if tokio::time::Instant::now() > deadline {
                panic!(
                    "{what}: not received within {ARRIVAL:?}; got {:#?}",
                    spans.0
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn receive(State(spans): State<Arc<Mutex<Vec<ReceivedSpan>>>>, body: Bytes) -> Vec<u8> {
    let request = ExportTraceServiceRequest::decode(body).expect("an OTLP protobuf body");
    let mut received = spans.lock().unwrap();
    for resource_spans in request.resource_spans {
        let service = resource_spans
            .resource
            .iter()
            .flat_map(|resource| &resource.attributes)
            .find(|attribute| attribute.key == "service.name")
            .and_then(|attribute| attribute.value.as_ref()?.value.as_ref())
            .map(|value| match value {
                AnyValue::StringValue(name) => name.clone(),
                other => format!("{other:?}"),
            })
            .unwrap_or_default();
        for span in resource_spans
            .scope_spans
            .into_iter()
            .flat_map(|scope| scope.spans)
        {
            received.push(ReceivedSpan {
                service: service.clone(),
                name: span.name,
                trace_id: hex(&span.trace_id),
                span_id: hex(&span.span_id),
                parent_span_id: hex(&span.parent_span_id),
            });
        }
    }
    ExportTraceServiceResponse::default().encode_to_vec()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// What the receiver holds, with the questions the test asks of it.
#[derive(Debug)]
struct Spans(Vec<ReceivedSpan>);

impl Spans {
    fn named(&self, service: &str, name: &str) -> Vec<&ReceivedSpan> {
        self.0
            .iter()
            .filter(|span| span.service == service && span.name == name)
            .collect()
    }

    fn one(&self, service: &str, name: &str) -> Option<&ReceivedSpan> {
        self.named(service, name).into_iter().next()
    }

    fn in_trace(&self, trace_id: &str) -> Vec<&ReceivedSpan> {
        self.0
            .iter()
            .filter(|span| span.trace_id == trace_id)
            .collect()
    }

    fn child_of(&self, parent: &ReceivedSpan, service: &str, name: &str) -> Option<&ReceivedSpan> {
        self.named(service, name)
            .into_iter()
            .find(|span| span.trace_id == parent.trace_id && span.parent_span_id == parent.span_id)
    }

    /// True when `span` is below `ancestor`, following parent links through every process.
    fn descends_from(&self, span: &ReceivedSpan, ancestor: &ReceivedSpan) -> bool {
        let by_id: HashMap<&str, &ReceivedSpan> = self
            .in_trace(&span.trace_id)
            .into_iter()
            .map(|span| (span.span_id.as_str(), span))
            .collect();
        let mut parent = span.parent_span_id.as_str();
        for _ in 0..64 {
            if parent == ancestor.span_id {
                return true;
            }
            match by_id.get(parent) {
                Some(next) => parent = next.parent_span_id.as_str(),
                None => return false,
            }
        }
        false
    }

    fn descendant(
        &self,
        ancestor: &ReceivedSpan,
        service: &str,
        name: impl Fn(&str) -> bool,
    ) -> Option<&ReceivedSpan> {
        self.in_trace(&ancestor.trace_id).into_iter().find(|span| {
            span.service == service && name(&span.name) && self.descends_from(span, ancestor)
        })
    }
}

const ORDERS: &str = "orders-under-test";
const HUB: &str = "push-hub-under-test";
const GATEWAY: &str = "gateway-under-test";

#[tokio::test]
async fn one_trace_runs_from_the_request_to_the_push_across_processes() {
    let collector = Collector::start().await;
    let deployment = ServerMode::new().await;
    let hub = deployment.start_with("push-hub", &collector.env(HUB)).await;
    let orders = deployment
        .start_with("orders", &collector.env(ORDERS))
        .await;
    let gateway = deployment
        .start_with("gateway", &collector.env(GATEWAY))
        .await;
    let alice = password_token(&deployment.idp.url(""), "alice").await;
    let admin = password_token(&deployment.idp.url(""), "admin").await;
    let mut tab = SignalrClient::node(&hub.url("/hubs/push-updates"), &alice, "result").await;
    tab.expect_event("connected").await;
    let mut wire = RawHubClient::connect(&hub.url("/hubs/push-updates"), &alice).await;

    // Seed 000, with the client's traceparent on POST /orders and none on the confirm.
    let placed = http()
        .post(orders.url("/orders"))
        .bearer_auth(&alice)
        .header(
            "traceparent",
            format!("00-{CLIENT_TRACE_ID}-{CLIENT_SPAN_ID}-01"),
        )
        .json(&json!({"currency":"EUR","items":[{"sku":"SKU-1","name":"Coffee beans","quantity":2,"unitPrice":"12.50"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(placed.status(), 201);
    let order: serde_json::Value = placed.json().await.unwrap();
    let order_id = order["id"].as_str().unwrap().to_owned();
    let created = tab.expect_event("push").await;
    assert_eq!(created["update"]["type"], "order-created");
    confirm_order(&orders.url(""), &admin, &order_id).await;
    let confirmed = tab.expect_event("push").await;
    assert_eq!(confirmed["update"]["type"], "order-confirmed");
    let confirmed_on_the_wire = wire.push_of_type("order-confirmed").await;

    // The placement: the client's trace, continued by the server span, and the
    // subscriptions of its events in it.
    let spans = collector
        .wait_for("the placement's spans", |spans| {
            spans.one(ORDERS, "POST /orders").is_some()
                && spans
                    .in_trace(CLIENT_TRACE_ID)
                    .iter()
                    .any(|span| span.name.starts_with("search "))
                && spans
                    .in_trace(CLIENT_TRACE_ID)
                    .iter()
                    .any(|span| span.name == "integration-events OrderCreated")
        })
        .await;
    let place = spans.one(ORDERS, "POST /orders").unwrap();
    assert_eq!(
        (place.trace_id.as_str(), place.parent_span_id.as_str()),
        (CLIENT_TRACE_ID, CLIENT_SPAN_ID),
        "the client's traceparent is continued, not replaced"
    );
    assert!(
        spans
            .descendant(place, ORDERS, |name| name == "search OrderCreated")
            .is_some(),
        "the search projection continues the placement's trace: {spans:#?}"
    );
    assert!(
        spans
            .descendant(place, ORDERS, |name| name
                == "integration-events OrderCreated")
            .is_some(),
        "the integration event continues the placement's trace: {spans:#?}"
    );

    // The confirm: a trace of its own, started by the orders service, reaching alice's tab.
    let spans = collector
        .wait_for("the confirm's spans down to the push", |spans| {
            // The relay's span ends last: once both of alice's connections answered.
            spans
                .named(ORDERS, "POST /orders/{id}/confirm")
                .iter()
                .any(|confirm| {
                    let in_trace = spans.in_trace(&confirm.trace_id);
                    ["PushUpdate", "push-hub relay"].iter().all(|name| {
                        in_trace
                            .iter()
                            .any(|span| span.service == HUB && span.name == *name)
                    })
                })
        })
        .await;
    let confirm = spans.one(ORDERS, "POST /orders/{id}/confirm").unwrap();
    assert!(
        confirm.parent_span_id.is_empty(),
        "without a traceparent the request starts a trace"
    );
    assert_ne!(confirm.trace_id, CLIENT_TRACE_ID);
    let published = spans
        .descendant(confirm, ORDERS, |name| {
            name == "push-publisher OrderConfirmed"
        })
        .unwrap_or_else(|| panic!("no push publisher span below the confirm: {spans:#?}"));
    let relayed = spans
        .child_of(published, HUB, "push-hub relay")
        .unwrap_or_else(|| panic!("no hub relay span below the publisher's: {spans:#?}"));
    spans
        .child_of(relayed, HUB, "PushUpdate")
        .unwrap_or_else(|| panic!("no push to the connection below the relay: {spans:#?}"));

    // On the wire: the invocation's `headers` carry the traceparent of the push's own span
    // (the one to this raw connection), in the confirm's trace, below the relay's span.
    let traceparent = confirmed_on_the_wire["headers"]["traceparent"]
        .as_str()
        .unwrap_or_else(|| panic!("no headers.traceparent in {confirmed_on_the_wire}"));
    let [version, trace_id, span_id, flags] = traceparent.split('-').collect::<Vec<_>>()[..] else {
        panic!("not a W3C traceparent: {traceparent}");
    };
    assert_eq!(
        (version, trace_id, flags),
        ("00", confirm.trace_id.as_str(), "01")
    );
    let spans = collector
        .wait_for(&format!("the push span of {traceparent}"), |spans| {
            spans
                .named(HUB, "PushUpdate")
                .iter()
                .any(|push| push.span_id == span_id)
        })
        .await;
    let pushed = spans
        .named(HUB, "PushUpdate")
        .into_iter()
        .find(|push| push.span_id == span_id)
        .unwrap();
    assert_eq!(
        (pushed.trace_id.as_str(), pushed.parent_span_id.as_str()),
        (confirm.trace_id.as_str(), relayed.span_id.as_str()),
        "the invocation's traceparent is its PushUpdate span, a child of the relay's"
    );

    // A trace the client did not sample: no hop makes a span of it, and its context travels
    // on unchanged, through the orders service, the broker and the hub, to the push's headers.
    let unsampled = format!("00-{UNSAMPLED_TRACE_ID}-{CLIENT_SPAN_ID}-00");
    let (second, _) = place_order(&orders.url(""), &alice).await;
    let confirmed_unsampled = http()
        .post(orders.url(&format!(
            "/orders/{}/confirm",
            second["id"].as_str().unwrap()
        )))
        .bearer_auth(&admin)
        .header("traceparent", &unsampled)
        .send()
        .await
        .unwrap();
    assert_eq!(confirmed_unsampled.status(), 200);
    let pushed_unsampled = wire.push_of_type("order-confirmed").await;
    assert_eq!(
        pushed_unsampled["headers"]["traceparent"], unsampled,
        "an unsampled trace is handed on as the client sent it, with no span of ours in it"
    );

    // Seed 002: the gateway's request/response over the bus joins the gateway's trace.
    let via_gateway = http()
        .post(gateway.url("/api/orders"))
        .bearer_auth(&alice)
        .json(&json!({"currency":"EUR","items":[{"sku":"SKU-2","name":"Tea","quantity":1,"unitPrice":"4.00"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(via_gateway.status(), 201);
    let spans = collector
        .wait_for("the gateway's command in the order service", |spans| {
            spans
                .one(GATEWAY, "POST /api/orders")
                .is_some_and(|submit| {
                    spans
                        .in_trace(&submit.trace_id)
                        .iter()
                        .any(|span| span.name == "integration-events OrderCreated")
                })
        })
        .await;
    let submit = spans.one(GATEWAY, "POST /api/orders").unwrap();
    let consumed = spans
        .descendant(submit, ORDERS, |name| name.ends_with(" CreateOrderCommand"))
        .unwrap_or_else(|| panic!("the command consumer is not below the gateway: {spans:#?}"));
    assert!(
        spans
            .descendant(consumed, ORDERS, |name| name
                == "integration-events OrderCreated")
            .is_some(),
        "the created order's integration event continues the gateway's trace: {spans:#?}"
    );

    tab.stop().await;
    wire.close().await;
    drop((gateway, orders, hub));
    deployment.finish().await;
}
