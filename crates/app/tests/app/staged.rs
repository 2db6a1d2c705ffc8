//! The consumer runner with a two-step handler (`run_staged_consumer`), over a scripted
//! broker whose deliveries are queued before the runner subscribes and whose settlements are
//! written down: the deliveries already received are started together, in order; a slow
//! finish holds up neither the next start nor the others' settlements; at most the prefetch
//! are in flight, work after the verdict included; a repeat of a message in flight is
//! acknowledged unstarted; shutdown drops a start that still waits, leaving its deliveries
//! unsettled for the broker to deliver again.
//!
//! Time is paused: every bounded wait passes without real sleeping.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use orderflow_app::messaging::{Finished, Handled, Received, StagedHandler, run_staged_consumer};
use orderflow_app::ports::bus::{
    BusError, Delivery, Message, MessageSubscriber, QueueSubscription, Settle, SubscriptionSpec,
};
use tokio::sync::{Notify, mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use uuid::Uuid;

use crate::support::within;

/// Longer than anything the runner would wait before acting again.
const QUIET: Duration = Duration::from_secs(5);

/// How a delivery was settled; `Dropped`: let go unsettled (the broker delivers it again).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Settled {
    Acked,
    Requeued,
    Rejected,
    Dropped,
}

type Settlements = Arc<Mutex<Vec<(Uuid, Settled)>>>;

#[derive(Debug)]
struct Recorded {
    id: Uuid,
    settlements: Settlements,
    settled: bool,
}

impl Recorded {
    fn write(&mut self, how: Settled) -> Result<(), BusError> {
        self.settled = true;
        self.settlements.lock().unwrap().push((self.id, how));
        Ok(())
    }
}

#[async_trait]
impl Settle for Recorded {
    async fn ack(mut self: Box<Self>) -> Result<(), BusError> {
        self.write(Settled::Acked)
    }
    async fn nack(mut self: Box<Self>, _requeue: bool) -> Result<(), BusError> {
        self.write(Settled::Requeued)
    }
    async fn reject(mut self: Box<Self>) -> Result<(), BusError> {
        self.write(Settled::Rejected)
    }
    async fn reply(&self, _reply: Message) -> Result<(), BusError> {
        Err(BusError::NotARequest)
    }
    fn is_request(&self) -> bool {
        false
    }
}

impl Drop for Recorded {
    fn drop(&mut self) {
        if !self.settled {
            let settled = (self.id, Settled::Dropped);
            self.settlements.lock().unwrap().push(settled);
        }
    }
}

/// A broker with one queue: what is [`Broker::deliver`]ed waits in it for the subscriber.
#[derive(Debug)]
struct Broker {
    deliveries: mpsc::Sender<Delivery>,
    subscription: Mutex<Option<mpsc::Receiver<Delivery>>>,
    settlements: Settlements,
}

impl Broker {
    fn new() -> Arc<Self> {
        let (deliveries, queue) = mpsc::channel(64);
        Arc::new(Broker {
            deliveries,
            subscription: Mutex::new(Some(queue)),
            settlements: Settlements::default(),
        })
    }

    /// Queues a delivery of `message`.
    fn deliver(&self, message: &Message) {
        let settle = Recorded {
            id: message.id,
            settlements: self.settlements.clone(),
            settled: false,
        };
        let delivery = Delivery::new(message.clone(), false, Box::new(settle));
        self.deliveries.try_send(delivery).unwrap();
    }

    fn settlements(&self) -> Vec<(Uuid, Settled)> {
        self.settlements.lock().unwrap().clone()
    }

    fn settlement_of(&self, id: Uuid) -> Option<Settled> {
        let settlements = self.settlements();
        settlements
            .iter()
            .find(|(of, _)| *of == id)
            .map(|(_, how)| *how)
    }
}

#[async_trait]
impl MessageSubscriber for Broker {
    async fn subscribe(&self, spec: SubscriptionSpec) -> Result<QueueSubscription, BusError> {
        let queue = self.subscription.lock().unwrap().take().unwrap();
        Ok(QueueSubscription::new(spec.queue, queue))
    }
}

/// Writes each start's batch down; each finish waits for its message's gate, if it has one,
/// before (or, when `after_settling`, after) its verdict.
#[derive(Default)]
struct Gated {
    starts: Mutex<Vec<Vec<Uuid>>>,
    gates: HashMap<Uuid, Arc<Notify>>,
    after_settling: bool,
    start_never_ends: bool,
}

#[async_trait]
impl StagedHandler for Gated {
    type Started = Uuid;

    async fn start(&self, batch: &[Received]) -> Vec<Uuid> {
        let ids: Vec<Uuid> = batch
            .iter()
            .map(|received| received.delivery.message.id)
            .collect();
        self.starts.lock().unwrap().push(ids.clone());
        if self.start_never_ends {
            std::future::pending::<()>().await;
        }
        ids
    }

    async fn finish(&self, id: Uuid, _delivery: &Delivery) -> Finished {
        let Some(gate) = self.gates.get(&id).cloned() else {
            return Handled::Done.into();
        };
        if self.after_settling {
            return Finished::then(Handled::Done, async move { gate.notified().await });
        }
        gate.notified().await;
        Handled::Done.into()
    }
}

/// A runner on the scripted broker, and what the test reads from it.
struct Running {
    handler: Arc<Gated>,
    subscribed: watch::Receiver<bool>,
    stop: oneshot::Sender<()>,
    runner: JoinHandle<()>,
}

/// Shares the handler with the test, to read its starts.
struct Shared(Arc<Gated>);

#[async_trait]
impl StagedHandler for Shared {
    type Started = Uuid;
    async fn start(&self, batch: &[Received]) -> Vec<Uuid> {
        self.0.start(batch).await
    }
    async fn finish(&self, id: Uuid, delivery: &Delivery) -> Finished {
        self.0.finish(id, delivery).await
    }
}

fn run(broker: &Arc<Broker>, prefetch: u16, handler: Gated) -> Running {
    let handler = Arc::new(handler);
    let (subscribed_tx, subscribed) = watch::channel(false);
    let (stop, stopped) = oneshot::channel::<()>();
    let spec = SubscriptionSpec::shared("staged", &["#"]).with_prefetch(prefetch);
    let runner = tokio::spawn(run_staged_consumer(
        broker.clone(),
        spec,
        Shared(handler.clone()),
        async {
            let _ = stopped.await;
        },
        subscribed_tx,
    ));
    Running {
        handler,
        subscribed,
        stop,
        runner,
    }
}

impl Running {
    fn starts(&self) -> Vec<Vec<Uuid>> {
        self.handler.starts.lock().unwrap().clone()
    }

    async fn stop(self) {
        let _ = self.stop.send(());
        within("the runner to stop", self.runner).await.unwrap();
    }
}

fn messages(n: usize) -> Vec<Message> {
    (0..n)
        .map(|_| Message::new("Test", "test", b"{}".to_vec()))
        .collect()
}

fn gates(messages: &[&Message]) -> (HashMap<Uuid, Arc<Notify>>, Vec<Arc<Notify>>) {
    let gates: Vec<Arc<Notify>> = messages.iter().map(|_| Arc::new(Notify::new())).collect();
    let by_id = messages
        .iter()
        .map(|m| m.id)
        .zip(gates.iter().cloned())
        .collect();
    (by_id, gates)
}

#[tokio::test(start_paused = true)]
async fn the_deliveries_already_received_are_started_together_in_the_brokers_order() {
    // Given three deliveries waiting in the queue
    let broker = Broker::new();
    let sent = messages(3);
    sent.iter().for_each(|message| broker.deliver(message));

    // When the runner subscribes
    let mut running = run(&broker, 32, Gated::default());
    within("the subscription", running.subscribed.wait_for(|s| *s))
        .await
        .unwrap();
    tokio::time::sleep(QUIET).await;

    // Then they are started in one batch, in order, and each acknowledged
    let ids: Vec<Uuid> = sent.iter().map(|m| m.id).collect();
    assert_eq!(running.starts(), std::slice::from_ref(&ids));
    let acked: Vec<(Uuid, Settled)> = ids.iter().map(|id| (*id, Settled::Acked)).collect();
    assert_eq!(broker.settlements(), acked);
    let subscribed = running.subscribed.clone();
    running.stop().await;
    assert!(!*subscribed.borrow(), "no longer subscribed once stopped");
}

#[tokio::test(start_paused = true)]
async fn a_slow_finish_holds_up_neither_the_next_start_nor_the_others_settlement() {
    // Given a first delivery whose finish waits
    let broker = Broker::new();
    let [slow, quick]: [Message; 2] = messages(2).try_into().unwrap();
    let (gates_by_id, gate) = gates(&[&slow]);
    let running = run(
        &broker,
        32,
        Gated {
            gates: gates_by_id,
            ..Gated::default()
        },
    );
    broker.deliver(&slow);
    tokio::time::sleep(QUIET).await;

    // When a second one arrives
    broker.deliver(&quick);
    tokio::time::sleep(QUIET).await;

    // Then it is started and acknowledged while the first still waits
    assert_eq!(running.starts(), [vec![slow.id], vec![quick.id]]);
    assert_eq!(broker.settlements(), [(quick.id, Settled::Acked)]);
    gate[0].notify_one();
    tokio::time::sleep(QUIET).await;
    assert_eq!(broker.settlement_of(slow.id), Some(Settled::Acked));
    running.stop().await;
}

#[tokio::test(start_paused = true)]
async fn at_most_the_prefetch_are_in_flight_work_after_the_verdict_included() {
    // Given a runner of prefetch 2 whose finishes settle at once, then wait
    let broker = Broker::new();
    let sent = messages(3);
    let (gates_by_id, gate) = gates(&sent.iter().collect::<Vec<_>>());
    sent.iter().for_each(|message| broker.deliver(message));
    let handler = Gated {
        gates: gates_by_id,
        after_settling: true,
        ..Gated::default()
    };

    // When it runs
    let running = run(&broker, 2, handler);
    tokio::time::sleep(QUIET).await;

    // Then the first two are started and acknowledged, the third waits for room
    assert_eq!(running.starts(), [vec![sent[0].id, sent[1].id]]);
    assert_eq!(broker.settlement_of(sent[1].id), Some(Settled::Acked));
    assert_eq!(broker.settlement_of(sent[2].id), None);
    gate[1].notify_one();
    tokio::time::sleep(QUIET).await;
    assert_eq!(running.starts().last(), Some(&vec![sent[2].id]));
    gate[0].notify_one();
    gate[2].notify_one();
    running.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_repeat_of_a_message_in_flight_is_acknowledged_without_being_started() {
    // Given a delivery whose finish waits
    let broker = Broker::new();
    let [sent]: [Message; 1] = messages(1).try_into().unwrap();
    let (gates_by_id, gate) = gates(&[&sent]);
    let running = run(
        &broker,
        32,
        Gated {
            gates: gates_by_id,
            ..Gated::default()
        },
    );
    broker.deliver(&sent);
    tokio::time::sleep(QUIET).await;

    // When the same message is delivered again meanwhile
    broker.deliver(&sent);
    tokio::time::sleep(QUIET).await;

    // Then the repeat is acknowledged unstarted, and the first still finishes
    assert_eq!(running.starts(), [vec![sent.id]]);
    assert_eq!(broker.settlements(), [(sent.id, Settled::Acked)]);
    gate[0].notify_one();
    running.stop().await;
    assert_eq!(
        broker.settlements(),
        [(sent.id, Settled::Acked), (sent.id, Settled::Acked)]
    );
}

#[tokio::test(start_paused = true)]
async fn shutdown_drops_a_start_that_still_waits_and_leaves_its_deliveries_unsettled() {
    // Given a runner whose start never ends (an inbox that stays down)
    let broker = Broker::new();
    let [sent]: [Message; 1] = messages(1).try_into().unwrap();
    broker.deliver(&sent);
    let handler = Gated {
        start_never_ends: true,
        ..Gated::default()
    };
    let running = run(&broker, 32, handler);
    tokio::time::sleep(QUIET).await;
    assert_eq!(running.starts(), [vec![sent.id]]);

    // When it is shut down
    running.stop().await;

    // Then the delivery was let go unsettled: the broker delivers it again
    assert_eq!(broker.settlements(), [(sent.id, Settled::Dropped)]);
}
