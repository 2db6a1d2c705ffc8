//! The RabbitMQ publisher's latency histograms on a real broker, as a Prometheus scrape
//! shows them: every publish (one message or a batch) adds one observation to
//! `orderflow_bus_publish_seconds{outcome="confirmed"}` and one to
//! `orderflow_bus_confirm_seconds`, with durations no longer than the publishes took; a
//! publish the broker refuses (an unroutable mandatory message) is timed under
//! `outcome="failed"` and adds no confirm time.
//!
//! The metrics are caught by a Prometheus recorder of this test's thread only
//! (`metrics::with_local_recorder`) on a current-thread runtime, so the publishes of the
//! other tests in this binary, running in parallel, are not counted.

use std::time::{Duration, Instant};

use metrics_exporter_prometheus::PrometheusBuilder;
use orderflow_app::ports::bus::BusError;
use orderflow_testkit::local_metrics::block_on_recorded;

use crate::backends::{Backend, run_then_clean_up};
use crate::support::{message, next};

/// The value of the sample `series` (name and labels exactly as rendered) in `text`.
fn sample(text: &str, series: &str) -> Option<f64> {
    let prefix = format!("{series} ");
    text.lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .map(|value| value.parse().unwrap())
}

/// `_count` and `_sum` of the histogram `name` with `labels` (`""` or `{…}`).
fn count_and_sum(text: &str, name: &str, labels: &str) -> (f64, f64) {
    let count = sample(text, &format!("{name}_count{labels}"));
    let sum = sample(text, &format!("{name}_sum{labels}"));
    (count.unwrap_or(0.0), sum.unwrap_or(0.0))
}

const PUBLISH: &str = "orderflow_bus_publish_seconds";
const CONFIRM: &str = "orderflow_bus_confirm_seconds";
const CONFIRMED: &str = "{outcome=\"confirmed\"}";
const FAILED: &str = "{outcome=\"failed\"}";

#[test]
fn each_publish_is_timed_until_its_confirms_and_a_refused_one_as_failed() {
    let recorder = PrometheusBuilder::new()
        .set_buckets(&[0.001, 0.01, 0.1, 1.0, 10.0])
        .unwrap()
        .build_recorder();
    let scrape = recorder.handle();
    block_on_recorded(&recorder, async {
        let backend = Backend::rabbitmq().await;
        run_then_clean_up(&backend, async {
            let spec = backend.shared("timed", &["timed.#"]);
            let mut queue = backend.bus.subscribe(spec).await.unwrap();
            let before = scrape.render();
            assert_eq!(
                count_and_sum(&before, PUBLISH, CONFIRMED).0,
                0.0,
                "{before}"
            );
            assert_eq!(count_and_sum(&before, CONFIRM, "").0, 0.0, "{before}");

            // Five single publishes and one batch of three: six publishes, each
            // returning after the broker confirmed all of its messages.
            let started = Instant::now();
            for _ in 0..5 {
                backend.bus.publish(message("timed.one")).await.unwrap();
            }
            let batch = (0..3).map(|_| message("timed.batch")).collect();
            backend.bus.publish_batch(batch).await.unwrap();
            let took = started.elapsed().as_secs_f64();
            for _ in 0..8 {
                next(&mut queue).await.ack().await.unwrap();
            }

            let text = scrape.render();
            let (published, publish_sum) = count_and_sum(&text, PUBLISH, CONFIRMED);
            let (confirmed, confirm_sum) = count_and_sum(&text, CONFIRM, "");
            assert_eq!(published, 6.0, "one observation per publish: {text}");
            assert_eq!(confirmed, 6.0, "one observation per publish: {text}");
            assert!(
                0.0 < confirm_sum && confirm_sum <= publish_sum && publish_sum <= took,
                "the confirm waits ({confirm_sum} s) are part of the publishes \
                     ({publish_sum} s), which took {took} s in all: {text}"
            );
            assert_eq!(
                sample(
                    &text,
                    &format!("{PUBLISH}_bucket{{outcome=\"confirmed\",le=\"+Inf\"}}")
                ),
                Some(6.0),
                "{text}"
            );
            assert_eq!(count_and_sum(&text, PUBLISH, FAILED).0, 0.0, "{text}");

            // A mandatory message no queue is bound for: the broker returns it, and
            // the publish fails (not retried: the broker is there).
            let started = Instant::now();
            let refused = backend
                .bus
                .publish(message("nobody.listens").mandatory())
                .await;
            let took = started.elapsed().as_secs_f64();
            assert!(
                matches!(refused, Err(BusError::Unroutable(_))),
                "{refused:?}"
            );
            let text = scrape.render();
            let (failed, failed_sum) = count_and_sum(&text, PUBLISH, FAILED);
            assert_eq!(failed, 1.0, "{text}");
            assert!(
                0.0 < failed_sum && failed_sum <= took,
                "{failed_sum} s of {took} s"
            );
            assert_eq!(count_and_sum(&text, PUBLISH, CONFIRMED).0, 6.0, "{text}");
            assert_eq!(
                count_and_sum(&text, CONFIRM, "").0,
                6.0,
                "a refused publish has no confirm time: {text}"
            );
            // Nothing waited a whole confirm timeout.
            assert!(Duration::from_secs_f64(publish_sum) < Duration::from_secs(5));
        })
        .await;
    });
}
