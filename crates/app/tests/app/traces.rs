//! The trace context through the application layer, with an OpenTelemetry layer recording
//! the spans in memory: a request run inside a continued span stores its context in the
//! events it appends; the outboxes publish each event's messages from a span that is a child
//! of the event's trace; a consumer handles a message in a child of the trace it carries.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use opentelemetry::Context;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SdkTracerProvider, Span, SpanData, SpanProcessor};
use orderflow_app::integration::IntegrationEventPublisher;
use orderflow_app::messaging::{Handled, MessageHandler, run_consumer};
use orderflow_app::orders::{OrderHandlers, PlaceOrderRequest};
use orderflow_app::ports::bus::{BusError, Delivery, Message, MessagePublisher, SubscriptionSpec};
use orderflow_app::ports::{EventStore, RecordedEvent};
use orderflow_app::push::PushPublisher;
use orderflow_app::subscription::EventHandler;
use orderflow_app::{Mediator, TraceContext};
use orderflow_bus::InProcessBus;
use tokio::sync::mpsc;
use tracing::Instrument;
use tracing_subscriber::layer::SubscriberExt;

use crate::support::{FixedClock, TestStore, admin, buyer, coffee, context, stream_of, within};

const CLIENT_TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CLIENT_SPAN_ID: &str = "00f067aa0ba902b7";

fn client_context() -> TraceContext {
    TraceContext::from_stored(
        Some(format!("00-{CLIENT_TRACE_ID}-{CLIENT_SPAN_ID}-01")),
        None,
    )
}

/// Every span that ended, as the SDK hands it to an exporter.
#[derive(Debug, Clone, Default)]
struct Ended(Arc<Mutex<Vec<SpanData>>>);

impl SpanProcessor for Ended {
    fn on_start(&self, _span: &mut Span, _context: &Context) {}

    fn on_end(&self, span: SpanData) {
        self.0.lock().unwrap().push(span);
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Ok(())
    }
}

impl Ended {
    fn named(&self, name: &str) -> Vec<SpanData> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|span| span.name == name)
            .cloned()
            .collect()
    }
}

/// Records this thread's spans (tests run on a current-thread runtime) until dropped.
fn trace_spans() -> (Ended, tracing::subscriber::DefaultGuard) {
    let ended = Ended::default();
    let provider = SdkTracerProvider::builder()
        .with_span_processor(ended.clone())
        .build();
    let subscriber = tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
    (ended, tracing::subscriber::set_default(subscriber))
}

/// The trace id and parent span id of a `traceparent`.
fn trace_and_parent(context: &TraceContext) -> (String, String) {
    let traceparent = context.traceparent().expect("a traceparent");
    let parts: Vec<&str> = traceparent.split('-').collect();
    (parts[1].to_owned(), parts[2].to_owned())
}

/// Remembers what it is asked to publish.
#[derive(Debug, Default)]
struct Captured(Mutex<Vec<Message>>);

#[async_trait]
impl MessagePublisher for Captured {
    async fn publish(&self, message: Message) -> Result<(), BusError> {
        self.0.lock().unwrap().push(message);
        Ok(())
    }
}

/// Places alice's order inside a span continuing the client's context, confirms it
/// untraced, and returns the stored events.
async fn placed_and_confirmed(store: &TestStore) -> Vec<RecordedEvent> {
    let store_port: Arc<dyn EventStore> = store.store.clone();
    let mediator = Mediator::new(OrderHandlers::new(store_port.clone(), Arc::new(FixedClock)));
    let request = tracing::info_span!("client request");
    client_context().continue_in(&request);
    let placed = mediator
        .send(
            &context(buyer("alice")),
            PlaceOrderRequest { order: coffee(1) },
        )
        .instrument(request)
        .await
        .unwrap();
    let order_id = placed.order.id();
    mediator
        .send(
            &context(admin("root")),
            orderflow_app::orders::ConfirmOrderRequest { order_id },
        )
        .await
        .unwrap();
    store_port
        .read_stream(&stream_of(order_id), 0, 10)
        .await
        .unwrap()
}

#[tokio::test]
async fn the_events_of_a_traced_request_carry_its_trace_context() {
    let (_ended, _recording) = trace_spans();
    let store = TestStore::open().await;
    let events = placed_and_confirmed(&store).await;
    let created = &events[0];
    assert_eq!(
        created.metadata.trace.trace_id().as_deref(),
        Some(CLIENT_TRACE_ID),
        "{:?}",
        created.metadata
    );
    let confirmed = events.last().unwrap();
    assert_ne!(
        confirmed.metadata.trace.trace_id().as_deref(),
        Some(CLIENT_TRACE_ID),
        "an untraced request starts its own trace"
    );
}

#[tokio::test]
async fn the_outboxes_publish_each_message_from_a_child_of_its_events_trace() {
    let (ended, _recording) = trace_spans();
    let store = TestStore::open().await;
    let events = placed_and_confirmed(&store).await;

    let integration_bus = Arc::new(Captured::default());
    IntegrationEventPublisher::new(integration_bus.clone())
        .handle(&events)
        .await
        .unwrap();
    let push_bus = Arc::new(Captured::default());
    let store_port: Arc<dyn EventStore> = store.store.clone();
    PushPublisher::new(store_port, push_bus.clone())
        .handle(&events)
        .await
        .unwrap();

    let announced = integration_bus.0.lock().unwrap()[0].trace_context();
    let (trace_id, parent) = trace_and_parent(&announced);
    assert_eq!(trace_id, CLIENT_TRACE_ID);
    let [publishing] = ended
        .named("integration-events OrderCreated")
        .try_into()
        .unwrap();
    assert_eq!(
        parent,
        publishing.span_context.span_id().to_string(),
        "the message's parent is the span that published it"
    );
    let (event_trace, event_parent) = trace_and_parent(&events[0].metadata.trace);
    assert_eq!(publishing.span_context.trace_id().to_string(), event_trace);
    assert_eq!(publishing.parent_span_id.to_string(), event_parent);

    let pushed = push_bus.0.lock().unwrap()[0].trace_context();
    let confirmed = events.last().unwrap();
    assert_eq!(pushed.trace_id(), confirmed.metadata.trace.trace_id());
    let [push_span] = ended
        .named("push-publisher OrderConfirmed")
        .try_into()
        .unwrap();
    assert_eq!(
        trace_and_parent(&pushed).1,
        push_span.span_context.span_id().to_string()
    );
}

/// Passes each delivery's trace context (as the handler sees it) on.
struct Reporting(mpsc::UnboundedSender<TraceContext>);

#[async_trait]
impl MessageHandler for Reporting {
    async fn handle(&self, _delivery: &Delivery) -> Handled {
        let _ = self.0.send(TraceContext::current());
        Handled::Done
    }
}

#[tokio::test]
async fn a_consumer_handles_a_message_in_a_child_of_the_trace_it_carries() {
    let (ended, _recording) = trace_spans();
    let bus = Arc::new(InProcessBus::default());
    let spec = SubscriptionSpec::shared("traces.consumer", &["traced.#"]);
    let (seen, mut contexts) = mpsc::unbounded_channel();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let consumer = tokio::spawn(
        run_consumer(bus.clone(), spec, Reporting(seen), async {
            let _ = stopped.await;
        })
        .in_current_span(),
    );
    // The subscription must exist before the message is published.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let message =
        Message::new("Traced", "traced.one", b"{}".to_vec()).with_trace_context(&client_context());
    bus.publish(message).await.unwrap();
    let handled = within("the delivery", contexts.recv()).await.unwrap();
    let (trace_id, parent) = trace_and_parent(&handled);
    assert_eq!(trace_id, CLIENT_TRACE_ID);
    assert_ne!(
        parent, CLIENT_SPAN_ID,
        "the handler runs in a span of its own"
    );
    let _ = stop.send(());
    consumer.await.unwrap();
    let spans = ended.named("traces.consumer Traced");
    assert_eq!(spans.len(), 1, "{spans:?}");
    assert_eq!(spans[0].parent_span_id.to_string(), CLIENT_SPAN_ID);
}
