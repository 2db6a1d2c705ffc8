//! Unit tests of `relay`: the first subscription is retried with backoff, and the shutdown
//! future stops the relay even while the broker is unreachable; a repeated message is recorded
//! and pushed once, an undecodable one dead-lettered; while the inbox is down nothing is
//! acknowledged, and shutdown leaves the delivery to the broker. Time is paused: backoffs are
//! waited in virtual time.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use orderflow_app::ports::bus::{
    BusError, Message, MessagePublisher, MessageSubscriber, QueueSubscription, SubscriptionSpec,
};
use orderflow_app::push::{PUSH_UPDATE_MESSAGE_KIND, PushUpdatePayload};
use orderflow_auth::{TokenValidator, ValidatorConfig, default_http_client};
use orderflow_bus::{InProcessBus, InProcessConfig};
use tokio::sync::oneshot;
use tokio::time::Instant;

use super::*;
use crate::HubConfig;
use crate::scripted_inbox::ScriptedInbox;

/// A bus whose first `failures` subscriptions fail as if the broker were down; it remembers
/// the relay's subscription.
#[derive(Debug)]
struct FlakyBus {
    failures: usize,
    attempts: AtomicUsize,
    bus: InProcessBus,
    subscribed: Mutex<Option<SubscriptionSpec>>,
}

#[async_trait]
impl MessageSubscriber for FlakyBus {
    async fn subscribe(&self, spec: SubscriptionSpec) -> Result<QueueSubscription, BusError> {
        if self.attempts.fetch_add(1, Ordering::SeqCst) < self.failures {
            return Err(BusError::Unavailable("the broker is down".into()));
        }
        *self.subscribed.lock().unwrap() = Some(spec.clone());
        self.bus.subscribe(spec).await
    }
}

impl FlakyBus {
    /// What is left in the relay's queue once the relay has stopped, to a new subscriber.
    async fn left_in_the_queue(&self) -> Vec<Message> {
        let spec = self.subscribed.lock().unwrap().clone().unwrap();
        let mut left = self.bus.subscribe(spec).await.unwrap();
        // Held until all are read: a dropped delivery would come again.
        let mut held = Vec::new();
        while let Ok(Some(delivery)) =
            tokio::time::timeout(Duration::from_secs(1), left.next()).await
        {
            held.push(delivery);
        }
        held.into_iter().map(|delivery| delivery.message).collect()
    }
}

fn relay_on(failures: usize) -> (Arc<FlakyBus>, PushRelay, oneshot::Sender<()>) {
    relay_with(failures, None)
}

fn relay_with(
    failures: usize,
    inbox: Option<Arc<ScriptedInbox>>,
) -> (Arc<FlakyBus>, PushRelay, oneshot::Sender<()>) {
    let bus = Arc::new(FlakyBus {
        failures,
        attempts: AtomicUsize::new(0),
        bus: InProcessBus::new(InProcessConfig::default()),
        subscribed: Mutex::new(None),
    });
    let validator = TokenValidator::lazy(
        ValidatorConfig::new("http://127.0.0.1:1/realms/orderflow"),
        default_http_client().unwrap(),
    );
    let hub = match inbox {
        Some(inbox) => PushHub::with_inbox(validator, HubConfig::default(), inbox),
        None => PushHub::new(validator, HubConfig::default()),
    };
    let (stop, stopped) = oneshot::channel::<()>();
    let relay = start_push_relay(hub, bus.clone(), HubConfig::DEFAULT_ACK_TIMEOUT, async {
        let _stopped = stopped.await;
    });
    (bus, relay, stop)
}

#[tokio::test(start_paused = true)]
async fn the_first_subscription_is_retried_with_backoff_until_it_succeeds() {
    let started = Instant::now();
    let (bus, relay, _stop) = relay_on(3);
    let mut subscribed = relay.subscribed();
    assert!(!*subscribed.borrow());
    subscribed.wait_for(|subscribed| *subscribed).await.unwrap();
    assert_eq!(bus.attempts.load(Ordering::SeqCst), 4);
    assert!(
        started.elapsed() >= Duration::from_millis(100 + 200 + 400),
        "three pauses, doubling: {:?}",
        started.elapsed()
    );
}

#[tokio::test(start_paused = true)]
async fn shutdown_stops_the_relay_while_the_broker_is_still_down() {
    let (bus, relay, stop) = relay_on(usize::MAX);
    tokio::time::sleep(Duration::from_secs(60)).await;
    let attempts = bus.attempts.load(Ordering::SeqCst);
    assert!(
        (10..20).contains(&attempts),
        "retried at most every 5 s, not in a busy loop: {attempts}"
    );
    let subscribed = relay.subscribed();
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(1), relay.stopped())
        .await
        .expect("the relay stops at once");
    assert!(!*subscribed.borrow());
}

/// A push update for `user`, as the push publisher sends it (its envelope id is its message id).
fn push_update(user: &str) -> Message {
    let message = PushUpdateIntegrationMessage {
        message_id: Uuid::new_v4(),
        subscriber_ids: vec![user.to_owned()],
        payload: PushUpdatePayload::OrderConfirmed {
            order_id: "o-1".to_owned(),
        },
    };
    Message::json(
        PUSH_UPDATE_MESSAGE_KIND,
        "push-update.order-confirmed",
        &message,
    )
    .unwrap()
    .with_id(message.message_id)
}

#[tokio::test(start_paused = true)]
async fn a_repeated_push_is_recorded_once_and_an_undecodable_one_is_dead_lettered() {
    let inbox = Arc::new(ScriptedInbox::default());
    let (bus, relay, stop) = relay_with(0, Some(inbox.clone()));
    relay
        .subscribed()
        .wait_for(|subscribed| *subscribed)
        .await
        .unwrap();

    let push = push_update("alice");
    let garbage = Message::new(
        PUSH_UPDATE_MESSAGE_KIND,
        "push-update.x",
        b"not json".to_vec(),
    );
    for message in [&push, &push, &garbage] {
        bus.bus.publish(message.clone()).await.unwrap();
    }
    tokio::time::sleep(Duration::from_secs(5)).await;
    stop.send(()).unwrap();
    relay.stopped().await;

    let recorded: Vec<Uuid> = inbox.records().concat();
    assert_eq!(recorded, [push.id], "recorded once");
    let dead: Vec<Uuid> = bus
        .bus
        .dead_letters()
        .iter()
        .map(|dead| dead.message.id)
        .collect();
    assert_eq!(dead, [garbage.id]);
    assert_eq!(bus.left_in_the_queue().await, [], "every delivery settled");
}

#[tokio::test(start_paused = true)]
async fn while_the_inbox_is_down_nothing_is_acknowledged_and_shutdown_leaves_it_queued() {
    let inbox = Arc::new(ScriptedInbox {
        down: true,
        ..ScriptedInbox::default()
    });
    let (bus, relay, stop) = relay_with(0, Some(inbox));
    relay
        .subscribed()
        .wait_for(|subscribed| *subscribed)
        .await
        .unwrap();
    let push = push_update("alice");
    bus.bus.publish(push.clone()).await.unwrap();
    tokio::time::sleep(Duration::from_secs(30)).await;

    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(1), relay.stopped())
        .await
        .expect("the relay stops at once, giving the inbox write up");
    let left: Vec<Uuid> = bus.left_in_the_queue().await.iter().map(|m| m.id).collect();
    assert_eq!(left, [push.id], "the broker keeps it");
    assert!(bus.bus.dead_letters().is_empty());
}
