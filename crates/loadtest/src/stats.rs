//! Latency and outcome accounting for one worker, merged into one for the run.
//!
//! Guarantees: every measured request is recorded exactly once, either as a response
//! (its status, latency in microseconds and body bytes) or as a transport error (its
//! kind); so `responses + errors == requests` always holds. Latencies are kept in
//! HdrHistograms with 3 significant digits from 1 µs to 1 hour; longer ones saturate.
//!
//! Two latencies are kept per response: *latency*, from when the request was due (the
//! intended send time in open loop, the actual send in closed loop), and *service time*,
//! from the actual send. They differ only when sends run late, and the difference is
//! the client's or the server's backlog, which a benchmark must not hide.

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::Error;

/// Longest latency the histogram resolves: one hour, in microseconds.
const MAX_LATENCY_US: u64 = 3_600_000_000;

/// Why an exchange produced no HTTP response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ErrorKind {
    /// The TCP connection or HTTP handshake failed.
    Connect,
    /// The exchange did not finish within `--timeout`.
    Timeout,
    /// The connection broke while sending or receiving.
    Io,
}

impl ErrorKind {
    /// Stable lowercase name for reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Connect => "connect",
            Self::Timeout => "timeout",
            Self::Io => "io",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Measured outcomes of one worker (or, after [`Recorder::merge`], of a whole run).
#[derive(Debug, Clone)]
pub struct Recorder {
    latency_us: Histogram<u64>,
    service_us: Histogram<u64>,
    statuses: BTreeMap<u16, u64>,
    errors: BTreeMap<ErrorKind, u64>,
    bytes_received: u64,
    last_completion: Option<Instant>,
}

impl Recorder {
    /// An empty recorder.
    pub fn new() -> Result<Self, Error> {
        let histogram = || {
            Histogram::new_with_bounds(1, MAX_LATENCY_US, 3)
                .map_err(|e| Error::InvalidArgument(format!("latency histogram: {e}")))
        };
        Ok(Self {
            latency_us: histogram()?,
            service_us: histogram()?,
            statuses: BTreeMap::new(),
            errors: BTreeMap::new(),
            bytes_received: 0,
            last_completion: None,
        })
    }

    /// Records an HTTP response: `latency` from when it was due, `service` from when it
    /// was actually sent (`service <= latency`), and the length of its body.
    pub fn record_response(
        &mut self,
        status: u16,
        latency: Duration,
        service: Duration,
        body_bytes: u64,
        completed: Instant,
    ) {
        debug_assert!(service <= latency, "sent before it was due");
        self.latency_us.saturating_record(micros(latency));
        self.service_us.saturating_record(micros(service));
        *self.statuses.entry(status).or_default() += 1;
        self.bytes_received += body_bytes;
        self.completed_at(completed);
    }

    /// Records an exchange that ended without a response.
    pub fn record_error(&mut self, kind: ErrorKind, completed: Instant) {
        *self.errors.entry(kind).or_default() += 1;
        self.completed_at(completed);
    }

    /// Adds `other`'s outcomes to these.
    pub fn merge(&mut self, other: &Self) -> Result<(), Error> {
        self.latency_us
            .add(&other.latency_us)
            .map_err(|e| Error::Worker(format!("merging latency histograms: {e:?}")))?;
        self.service_us
            .add(&other.service_us)
            .map_err(|e| Error::Worker(format!("merging service histograms: {e:?}")))?;
        for (status, n) in &other.statuses {
            *self.statuses.entry(*status).or_default() += n;
        }
        for (kind, n) in &other.errors {
            *self.errors.entry(*kind).or_default() += n;
        }
        self.bytes_received += other.bytes_received;
        if let Some(at) = other.last_completion {
            self.completed_at(at);
        }
        Ok(())
    }

    fn completed_at(&mut self, at: Instant) {
        self.last_completion = Some(self.last_completion.map_or(at, |last| last.max(at)));
    }

    /// Requests that got an HTTP response.
    pub fn responses(&self) -> u64 {
        self.statuses.values().sum()
    }

    /// Requests that ended in a transport error.
    pub fn errors(&self) -> u64 {
        self.errors.values().sum()
    }

    /// All measured requests: responses plus errors.
    pub fn requests(&self) -> u64 {
        self.responses() + self.errors()
    }

    /// Responses whose status is not 2xx.
    pub fn non_2xx(&self) -> u64 {
        self.statuses
            .iter()
            .filter(|(status, _)| !(200..300).contains(*status))
            .map(|(_, n)| n)
            .sum()
    }

    /// Response count per HTTP status.
    pub fn statuses(&self) -> &BTreeMap<u16, u64> {
        &self.statuses
    }

    /// Error count per kind.
    pub fn error_kinds(&self) -> &BTreeMap<ErrorKind, u64> {
        &self.errors
    }

    /// Response body bytes received.
    pub fn bytes_received(&self) -> u64 {
        self.bytes_received
    }

    /// When the last measured request finished.
    pub fn last_completion(&self) -> Option<Instant> {
        self.last_completion
    }

    /// Latency (from when each request was due) of the responses.
    pub fn latency(&self) -> Latency {
        Latency::of(&self.latency_us)
    }

    /// Service time (from each actual send) of the responses.
    pub fn service_time(&self) -> Latency {
        Latency::of(&self.service_us)
    }
}

/// A latency distribution's summary, in microseconds; all zero when empty.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Latency {
    /// Median.
    pub p50: u64,
    /// 90th percentile.
    pub p90: u64,
    /// 99th percentile.
    pub p99: u64,
    /// 99.9th percentile.
    pub p999: u64,
    /// Largest.
    pub max: u64,
    /// Mean.
    pub mean: f64,
}

impl Latency {
    fn of(histogram: &Histogram<u64>) -> Self {
        if histogram.is_empty() {
            return Self {
                p50: 0,
                p90: 0,
                p99: 0,
                p999: 0,
                max: 0,
                mean: 0.0,
            };
        }
        Self {
            p50: histogram.value_at_quantile(0.50),
            p90: histogram.value_at_quantile(0.90),
            p99: histogram.value_at_quantile(0.99),
            p999: histogram.value_at_quantile(0.999),
            max: histogram.max(),
            mean: histogram.mean(),
        }
    }
}

fn micros(latency: Duration) -> u64 {
    u64::try_from(latency.as_micros()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn us(n: u64) -> Duration {
        Duration::from_micros(n)
    }

    #[test]
    fn every_request_lands_in_exactly_one_bucket() {
        let now = Instant::now();
        let mut recorder = Recorder::new().expect("recorder");
        recorder.record_response(201, us(900), us(900), 120, now);
        recorder.record_response(201, us(1100), us(1100), 120, now);
        recorder.record_response(500, us(50), us(50), 30, now);
        recorder.record_error(ErrorKind::Timeout, now);
        assert_eq!(recorder.requests(), 4);
        assert_eq!(recorder.responses(), 3);
        assert_eq!(recorder.errors(), 1);
        assert_eq!(recorder.non_2xx(), 1);
        assert_eq!(recorder.bytes_received(), 270);
        assert_eq!(recorder.statuses(), &BTreeMap::from([(201, 2), (500, 1)]));
        assert_eq!(
            recorder.error_kinds(),
            &BTreeMap::from([(ErrorKind::Timeout, 1)])
        );
    }

    #[test]
    fn percentiles_come_from_the_recorded_latencies_at_microsecond_resolution() {
        let now = Instant::now();
        let mut recorder = Recorder::new().expect("recorder");
        for i in 1..=1000 {
            recorder.record_response(200, us(i), us(i), 0, now);
        }
        // Three significant digits: exact below 2048 µs.
        let latency = recorder.latency();
        assert_eq!(
            (
                latency.p50,
                latency.p90,
                latency.p99,
                latency.p999,
                latency.max
            ),
            (500, 900, 990, 999, 1000)
        );
        assert!((latency.mean - 500.5).abs() < 1.0);
    }

    #[test]
    fn a_slow_outlier_shows_in_the_tail_not_the_median() {
        let now = Instant::now();
        let mut recorder = Recorder::new().expect("recorder");
        for _ in 0..999 {
            recorder.record_response(200, us(1000), us(1000), 0, now);
        }
        recorder.record_response(200, Duration::from_secs(2), Duration::from_secs(2), 0, now);
        assert_eq!(recorder.latency().p50, 1000);
        assert_eq!(recorder.latency().p99, 1000);
        let max = recorder.latency().max;
        assert!((1_999_000..=2_001_000).contains(&max), "max {max}");
    }

    #[test]
    fn late_sends_show_in_latency_but_not_in_service_time() {
        let now = Instant::now();
        let mut recorder = Recorder::new().expect("recorder");
        // Sent 1 ms after it was due, answered in 0.5 ms.
        recorder.record_response(200, us(1500), us(500), 0, now);
        assert_eq!(recorder.latency().p50, 1500);
        assert_eq!(recorder.service_time().p50, 500);
    }

    #[test]
    fn merging_adds_counts_and_keeps_the_latest_completion() {
        let early = Instant::now();
        let late = early + Duration::from_millis(5);
        let mut a = Recorder::new().expect("recorder");
        let mut b = Recorder::new().expect("recorder");
        a.record_response(200, us(10), us(10), 5, early);
        b.record_response(200, us(20), us(20), 7, late);
        b.record_response(404, us(30), us(30), 1, early);
        b.record_error(ErrorKind::Connect, early);
        a.merge(&b).expect("merge");
        assert_eq!(a.requests(), 4);
        assert_eq!(a.statuses(), &BTreeMap::from([(200, 2), (404, 1)]));
        assert_eq!(a.non_2xx(), 1);
        assert_eq!(a.errors(), 1);
        assert_eq!(a.bytes_received(), 13);
        assert_eq!(a.last_completion(), Some(late));
        assert_eq!(a.latency().max, 30);
    }

    #[test]
    fn an_empty_recorder_reports_zeroes() {
        let recorder = Recorder::new().expect("recorder");
        assert_eq!(recorder.requests(), 0);
        assert_eq!(recorder.latency().p99, 0);
        assert_eq!(recorder.last_completion(), None);
    }
}
