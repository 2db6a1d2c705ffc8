//! `orderflow_hub_pushes_in_flight`, the relay's gauge of deliveries whose acknowledgements
//! it awaits, as a Prometheus scrape shows it: it rises with each push a client holds
//! unanswered, stays up while the client keeps holding, and comes down by one when the
//! client answers, and by one when an unanswered push times out, back to 0.
//!
//! The real relay from the in-process bus, the hub on a real socket and a raw WebSocket
//! client (it answers only when the test says). The gauge is caught by a Prometheus recorder
//! of this test's thread only (`metrics::with_local_recorder`) on a current-thread runtime,
//! on which the relay's tasks run too; the relays of other tests in this binary, running in
//! parallel, record elsewhere.

use std::sync::Arc;
use std::time::Duration;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use orderflow_app::ports::bus::MessageBus;
use orderflow_bus::{InProcessBus, InProcessConfig};
use orderflow_testkit::local_metrics::block_on_recorded;
use serde_json::json;
use tokio::time::Instant;

use crate::relayed::Relayed;
use crate::support::{PATIENCE, TestHub};

/// The relay's acknowledgement timeout here: long enough to look at a held push, short
/// enough to wait for one to time out.
const ACK_TIMEOUT: Duration = Duration::from_secs(2);

/// `orderflow_hub_pushes_in_flight` in a scrape of `scrape` (`None` before it was set).
fn in_flight(scrape: &PrometheusHandle) -> Option<f64> {
    scrape
        .render()
        .lines()
        .find_map(|line| line.strip_prefix("orderflow_hub_pushes_in_flight "))
        .map(|value| value.parse().unwrap())
}

/// Waits (within the patience) until the gauge reads `expected`; returns when it did.
async fn until_in_flight(scrape: &PrometheusHandle, expected: f64) -> Instant {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if in_flight(scrape) == Some(expected) {
            return Instant::now();
        }
        assert!(
            Instant::now() < deadline,
            "the gauge stays at {:?}, expected {expected}",
            in_flight(scrape)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[test]
fn pushes_held_by_a_client_are_in_flight_until_answered_or_timed_out() {
    let recorder = PrometheusBuilder::new().build_recorder();
    let scrape = recorder.handle();
    block_on_recorded(&recorder, async {
        let running = TestHub::start().await;
        let bus: Arc<dyn MessageBus> = Arc::new(InProcessBus::new(InProcessConfig::default()));
        let relayed = Relayed::start_on(bus, &running.hub, ACK_TIMEOUT).await;
        let mut tab = running.client("alice").await;
        until_in_flight(&scrape, 0.0).await;

        // Two pushes reach the tab, which answers neither yet.
        let first = relayed.publish("alice", "held-1").await;
        let second_published = Instant::now();
        let second = relayed.publish("alice", "held-2").await;
        let first_invocation = tab.next_message().await;
        assert_eq!(first_invocation["arguments"][0], first);
        let second_invocation = tab.next_message().await;
        assert_eq!(second_invocation["arguments"][0], second);
        until_in_flight(&scrape, 2.0).await;
        tokio::time::sleep(ACK_TIMEOUT / 4).await;
        assert_eq!(in_flight(&scrape), Some(2.0), "still held");

        // The tab answers the first: one is left, until its acknowledgement times out.
        tab.complete(
            &first_invocation["invocationId"],
            json!({"received": "held-1"}),
        )
        .await;
        until_in_flight(&scrape, 1.0).await;
        let timed_out_at = until_in_flight(&scrape, 0.0).await;
        assert!(
            timed_out_at - second_published >= ACK_TIMEOUT,
            "the unanswered push counted until its timeout ({ACK_TIMEOUT:?}), not {:?}",
            timed_out_at - second_published
        );
        drop(tab);
        drop(relayed);
    });
}
