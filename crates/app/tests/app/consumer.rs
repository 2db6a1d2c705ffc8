//! The bus consumer runner (`run_consumer`) over the real in-process bus:
//! `Done` acknowledges, `Retry` requeues (the message comes back flagged
//! `redelivered`, after the retry pause, until the delivery limit), `Poison`
//! dead-letters; a message id seen again is handled once, but a request
//! always is; shutdown takes no new delivery and finishes those in flight.
//!
//! The in-process bus lives on the runtime alone, so time is paused: the
//! 250 ms retry pause and every bounded wait pass without real sleeping.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use orderflow_app::messaging::{Handled, MessageHandler, run_consumer};
use orderflow_app::ports::bus::{
    BusError, Delivery, Message, MessagePublisher, MessageRequester, MessageSubscriber,
    QueueSubscription, SubscriptionSpec,
};
use orderflow_bus::{DeadLetterReason, InProcessBus};
use tokio::sync::{Notify, mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use uuid::Uuid;

use crate::support::within;

/// Longer than anything the runner would wait before acting again.
const QUIET: Duration = Duration::from_secs(5);

/// One call of the handler.
#[derive(Debug)]
struct Seen {
    id: Uuid,
    redelivered: bool,
    at: Instant,
}

/// Answers with its script of verdicts (then `Done`), replying to requests;
/// with a gate, each call waits for the gate to open before answering.
struct Scripted {
    verdicts: Mutex<VecDeque<Handled>>,
    calls: mpsc::UnboundedSender<Seen>,
    gate: Option<Arc<Notify>>,
}

#[async_trait]
impl MessageHandler for Scripted {
    async fn handle(&self, delivery: &Delivery) -> Handled {
        let _ = self.calls.send(Seen {
            id: delivery.message.id,
            redelivered: delivery.redelivered,
            at: Instant::now(),
        });
        if let Some(gate) = &self.gate {
            gate.notified().await;
        }
        if delivery.is_request() {
            let reply = Message::new("TestReply", "", b"{}".to_vec());
            delivery.reply(reply).await.unwrap();
        }
        let next = self.verdicts.lock().unwrap().pop_front();
        next.unwrap_or(Handled::Done)
    }
}

/// A consumer of a fresh queue on its own bus.
struct Consuming {
    bus: InProcessBus,
    spec: SubscriptionSpec,
    calls: mpsc::UnboundedReceiver<Seen>,
    shutdown: oneshot::Sender<()>,
    consumer: JoinHandle<()>,
}

fn queue_spec() -> SubscriptionSpec {
    SubscriptionSpec::shared(format!("test.{}", Uuid::new_v4().simple()), &["orders.#"])
}

fn start(spec: SubscriptionSpec, verdicts: Vec<Handled>, gate: Option<Arc<Notify>>) -> Consuming {
    let bus = InProcessBus::default();
    let (calls_tx, calls) = mpsc::unbounded_channel();
    let handler = Scripted {
        verdicts: Mutex::new(verdicts.into()),
        calls: calls_tx,
        gate,
    };
    let (shutdown, stop) = oneshot::channel::<()>();
    let subscriber: Arc<dyn MessageSubscriber> = Arc::new(bus.clone());
    let consumer = tokio::spawn(run_consumer(subscriber, spec.clone(), handler, async {
        let _ = stop.await;
    }));
    Consuming {
        bus,
        spec,
        calls,
        shutdown,
        consumer,
    }
}

fn message() -> Message {
    Message::new("TestMessage", "orders.test", b"{}".to_vec())
}

impl Consuming {
    /// Publishes `message` once the consumer's queue is bound.
    async fn publish(&self, message: &Message) {
        loop {
            match self.bus.publish(message.clone().mandatory()).await {
                Err(BusError::Unroutable(_)) => tokio::time::sleep(Duration::from_millis(1)).await,
                published => return published.unwrap(),
            }
        }
    }

    /// Sends `request` once the consumer's queue is bound; its reply.
    async fn request(&self, request: &Message) -> Message {
        loop {
            match self.bus.request(request.clone(), QUIET).await {
                Err(BusError::Unroutable(_)) => tokio::time::sleep(Duration::from_millis(1)).await,
                replied => return replied.unwrap(),
            }
        }
    }

    /// Stops the consumer and checks that every message it took was
    /// acknowledged: none is left in the queue, none dead-lettered.
    async fn stop_with_everything_acknowledged(self) {
        let (bus, left) = self.stop().await;
        assert_empty(left).await;
        assert!(bus.dead_letters().is_empty(), "{:?}", bus.dead_letters());
    }

    async fn next_call(&mut self) -> Seen {
        within("the next handler call", self.calls.recv())
            .await
            .unwrap()
    }

    async fn no_more_calls(&mut self) {
        if let Ok(Some(seen)) = tokio::time::timeout(QUIET, self.calls.recv()).await {
            panic!("handled once more: {seen:?}");
        }
    }

    /// Stops the consumer; then what is left in its queue, to a new subscriber.
    async fn stop(self) -> (InProcessBus, QueueSubscription) {
        let _ = self.shutdown.send(());
        within("the consumer to stop", self.consumer).await.unwrap();
        let left = self.bus.subscribe(self.spec).await.unwrap();
        (self.bus, left)
    }
}

async fn assert_empty(mut left: QueueSubscription) {
    if let Ok(Some(delivery)) = tokio::time::timeout(QUIET, left.next()).await {
        panic!("left in the queue: {delivery:?}");
    }
}

fn dead_letters(bus: &InProcessBus) -> Vec<(String, Uuid, DeadLetterReason)> {
    bus.dead_letters()
        .into_iter()
        .map(|dead| (dead.queue, dead.message.id, dead.reason))
        .collect()
}

#[tokio::test(start_paused = true)]
async fn a_message_the_handler_is_done_with_is_acknowledged_and_not_delivered_again() {
    // Given a consumer taking one delivery at a time, whose handler is done
    // with every message
    let mut consuming = start(queue_spec().with_prefetch(1), vec![], None);

    // When two messages are published
    let (sent, next) = (message(), message());
    consuming.publish(&sent).await;
    consuming.publish(&next).await;

    // Then each is handled once (the first was settled, or the second could
    // not have come)
    let seen = consuming.next_call().await;
    assert_eq!((seen.id, seen.redelivered), (sent.id, false));
    assert_eq!(consuming.next_call().await.id, next.id);
    consuming.no_more_calls().await;
    // and acknowledged: they are no longer in the queue, nor dead-lettered
    consuming.stop_with_everything_acknowledged().await;
}

#[tokio::test(start_paused = true)]
async fn a_message_to_retry_is_requeued_and_comes_back_flagged_redelivered() {
    // Given a handler that fails the first time for a reason that may pass
    let mut consuming = start(queue_spec(), vec![Handled::Retry("db down".into())], None);

    // When a message is published
    let sent = message();
    consuming.publish(&sent).await;

    // Then it comes back flagged redelivered, after the retry pause
    let first = consuming.next_call().await;
    let again = consuming.next_call().await;
    assert_eq!((first.id, first.redelivered), (sent.id, false));
    assert_eq!((again.id, again.redelivered), (sent.id, true));
    assert!(again.at - first.at >= Duration::from_millis(250));
    // and once handled it is gone
    consuming.no_more_calls().await;
    consuming.stop_with_everything_acknowledged().await;
}

#[tokio::test(start_paused = true)]
async fn a_poison_message_is_dead_lettered_at_once() {
    // Given a handler that can never handle the message
    let spec = queue_spec();
    let queue = spec.queue.clone();
    let mut consuming = start(spec, vec![Handled::Poison("no such kind".into())], None);

    // When it is published
    let sent = message();
    consuming.publish(&sent).await;

    // Then it is handled once and dead-lettered as rejected
    assert_eq!(consuming.next_call().await.id, sent.id);
    consuming.no_more_calls().await;
    assert_eq!(
        dead_letters(&consuming.bus),
        [(queue, sent.id, DeadLetterReason::Rejected)]
    );
    let (_, left) = consuming.stop().await;
    assert_empty(left).await;
}

#[tokio::test(start_paused = true)]
async fn a_message_that_keeps_failing_is_dead_lettered_past_the_delivery_limit() {
    // Given a queue that requeues a message at most twice, and a handler that always fails
    let spec = queue_spec().with_delivery_limit(2);
    let queue = spec.queue.clone();
    let retries = (0..10).map(|_| Handled::Retry("db down".into())).collect();
    let mut consuming = start(spec, retries, None);

    // When a message is published
    let sent = message();
    consuming.publish(&sent).await;

    // Then it is tried three times, then dead-lettered
    for _ in 0..3 {
        assert_eq!(consuming.next_call().await.id, sent.id);
    }
    consuming.no_more_calls().await;
    assert_eq!(
        dead_letters(&consuming.bus),
        [(queue, sent.id, DeadLetterReason::DeliveryLimit)]
    );
}

#[tokio::test(start_paused = true)]
async fn a_message_published_twice_with_the_same_id_is_handled_once() {
    // Given a consumer taking one delivery at a time
    let mut consuming = start(queue_spec().with_prefetch(1), vec![], None);

    // When the same message (the same id) is published twice
    let sent = message();
    consuming.publish(&sent).await;
    consuming.publish(&sent).await;

    // Then it is handled once
    assert_eq!(consuming.next_call().await.id, sent.id);
    consuming.no_more_calls().await;
    // and the repeat is acknowledged, not left in the queue
    consuming.stop_with_everything_acknowledged().await;
}

#[tokio::test(start_paused = true)]
async fn a_request_sent_twice_with_the_same_id_is_handled_both_times() {
    // Given a consumer that answers requests
    let mut consuming = start(queue_spec().with_prefetch(1), vec![], None);

    // When the same request (the same id) is sent twice
    let request = message();
    let first = consuming.request(&request).await;
    let second = consuming.request(&request).await;

    // Then both are handled and answered, since someone waits for each
    assert_eq!(consuming.next_call().await.id, request.id);
    assert_eq!(consuming.next_call().await.id, request.id);
    assert_eq!(first.correlation_id, Some(request.id));
    assert_eq!(second.correlation_id, Some(request.id));
    consuming.no_more_calls().await;
}

#[tokio::test(start_paused = true)]
async fn shutdown_finishes_the_delivery_in_flight_and_takes_no_new_one() {
    // Given a consumer taking one delivery at a time, busy with a first message
    // while a second one waits in the queue
    let gate = Arc::new(Notify::new());
    let mut consuming = start(queue_spec().with_prefetch(1), vec![], Some(gate.clone()));
    let (busy, waiting) = (message(), message());
    consuming.publish(&busy).await;
    consuming.publish(&waiting).await;
    assert_eq!(consuming.next_call().await.id, busy.id);

    // When it is shut down
    let _ = consuming.shutdown.send(());
    tokio::time::sleep(QUIET).await;

    // Then it waits for the delivery in flight
    assert!(!consuming.consumer.is_finished(), "stopped mid-delivery");
    gate.notify_one();
    within("the consumer to stop", &mut consuming.consumer)
        .await
        .unwrap();
    // which is acknowledged, while the second one was never handled
    assert!(consuming.calls.try_recv().is_err(), "took a new delivery");
    let mut left = consuming
        .bus
        .subscribe(consuming.spec.clone())
        .await
        .unwrap();
    let still_queued = within("the waiting message", left.next()).await.unwrap();
    assert_eq!(still_queued.message.id, waiting.id);
    still_queued.ack().await.unwrap();
    assert_empty(left).await;
}

/// A broker that is down for good: every subscribe fails as unavailable.
#[derive(Debug)]
struct DownBroker;

#[async_trait]
impl MessageSubscriber for DownBroker {
    async fn subscribe(&self, _: SubscriptionSpec) -> Result<QueueSubscription, BusError> {
        Err(BusError::Unavailable("the broker is down (test)".into()))
    }
}

#[tokio::test(start_paused = true)]
async fn shutdown_stops_a_consumer_still_waiting_to_subscribe_at_once() {
    // Given a consumer whose broker is down, backing off between attempts
    let (_calls, handler) = {
        let (calls_tx, calls) = mpsc::unbounded_channel();
        let handler = Scripted {
            verdicts: Mutex::new(VecDeque::new()),
            calls: calls_tx,
            gate: None,
        };
        (calls, handler)
    };
    let (shutdown, stop) = oneshot::channel::<()>();
    let spec = SubscriptionSpec::shared("down", &["#"]);
    let runner = tokio::spawn(run_consumer(Arc::new(DownBroker), spec, handler, async {
        let _ = stop.await;
    }));
    // (long enough for the backoff to have grown to its 5 s ceiling)
    tokio::time::sleep(Duration::from_secs(20)).await;

    // When it is told to stop
    let asked = Instant::now();
    shutdown.send(()).unwrap();
    runner.await.unwrap();

    // Then it stops without sitting out the rest of its backoff
    assert!(
        asked.elapsed() < Duration::from_millis(100),
        "stopped after {:?}",
        asked.elapsed()
    );
}
