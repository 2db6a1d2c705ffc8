//! Unit tests of `relay`: the first subscription is retried with backoff, and the shutdown
//! future stops the relay even while the broker is unreachable. Time is paused: the backoff
//! is waited in virtual time.

use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use orderflow_app::ports::bus::BusError;
use orderflow_auth::{TokenValidator, ValidatorConfig, default_http_client};
use orderflow_bus::{InProcessBus, InProcessConfig};
use tokio::sync::oneshot;
use tokio::time::Instant;

use super::*;
use crate::HubConfig;

/// A bus whose first `failures` subscriptions fail as if the broker were down.
#[derive(Debug)]
struct FlakyBus {
    failures: usize,
    attempts: AtomicUsize,
    bus: InProcessBus,
}

#[async_trait]
impl MessageSubscriber for FlakyBus {
    async fn subscribe(&self, spec: SubscriptionSpec) -> Result<QueueSubscription, BusError> {
        if self.attempts.fetch_add(1, Ordering::SeqCst) < self.failures {
            return Err(BusError::Unavailable("the broker is down".into()));
        }
        self.bus.subscribe(spec).await
    }
}

fn relay_on(failures: usize) -> (Arc<FlakyBus>, PushRelay, oneshot::Sender<()>) {
    let bus = Arc::new(FlakyBus {
        failures,
        attempts: AtomicUsize::new(0),
        bus: InProcessBus::new(InProcessConfig::default()),
    });
    let validator = TokenValidator::lazy(
        ValidatorConfig::new("http://127.0.0.1:1/realms/orderflow"),
        default_http_client().unwrap(),
    );
    let hub = PushHub::new(validator, HubConfig::default());
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
