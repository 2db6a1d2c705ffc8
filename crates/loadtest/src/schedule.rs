//! What each worker sends next, and whether it counts.
//!
//! Guarantees:
//! - closed loop (no rate): a request *started* before the warm-up ends is discarded, one
//!   started inside the measured window counts; nothing starts after the window or after
//!   `requests` measured requests have been handed out;
//! - open loop (`rate`): request `i` is *intended* at `start + i / rate`; latency is taken
//!   from that instant, so a late send (server or client backlog) shows up as latency
//!   instead of silently stretching the schedule. The first measured ticket is the first
//!   one intended at or after the warm-up end; exactly `ceil(duration × rate)` (or
//!   `requests`) tickets are measured. Tickets still unsent `timeout` after the scheduled
//!   window ends are abandoned and reported as *missed*;
//! - every decision is bounded: a run always ends.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::Error;
use crate::pacer::Pace;
use crate::stop::StopSignal;

/// The shape of a run, as validated from the command line.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// Number of workers, each with one connection.
    pub concurrency: usize,
    /// Results of this leading period are discarded.
    pub warmup: Duration,
    /// Length of the measured window (after the warm-up).
    pub duration: Option<Duration>,
    /// Number of measured requests.
    pub requests: Option<u64>,
    /// Open-loop constant rate across all workers, in requests per second.
    pub rate: Option<f64>,
    /// Upper bound on one exchange (connect, send, read the whole response).
    pub timeout: Duration,
}

impl Plan {
    /// Checks the invariants every other module relies on.
    pub fn validate(&self) -> Result<(), Error> {
        let bad = |why: &str| Err(Error::InvalidArgument(why.to_owned()));
        if self.concurrency == 0 {
            return bad("--concurrency must be at least 1");
        }
        if self.duration.is_none() && self.requests.is_none() {
            return bad("a run needs --duration or --requests");
        }
        if self.duration.is_some_and(|d| d.is_zero()) {
            return bad("--duration must be positive");
        }
        if self.requests == Some(0) {
            return bad("--requests must be at least 1");
        }
        if self.timeout.is_zero() {
            return bad("--timeout must be positive");
        }
        if let Some(rate) = self.rate
            && !(0.001..=10_000_000.0).contains(&rate)
        {
            return bad("--rate must be between 0.001 and 10,000,000 requests per second");
        }
        Ok(())
    }
}

/// One decision for one worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    /// Send a request.
    Send {
        /// Whether its result is recorded (false during the warm-up).
        measured: bool,
        /// Open loop: when it should be sent, and where its latency is measured from.
        intended: Option<Instant>,
    },
    /// This worker is finished.
    Done,
}

/// Shared by all workers of one run.
#[derive(Debug)]
pub struct Schedule {
    plan: Plan,
    start: Instant,
    stop: StopSignal,
    /// Closed loop: measured requests handed out so far.
    measured_claims: AtomicU64,
    /// Open loop: next ticket number.
    next_ticket: AtomicU64,
}

impl Schedule {
    /// A schedule whose clock starts at `start`. `plan` must have been validated.
    pub fn new(plan: Plan, start: Instant, stop: StopSignal) -> Self {
        debug_assert!(plan.validate().is_ok(), "unvalidated plan");
        Self {
            plan,
            start,
            stop,
            measured_claims: AtomicU64::new(0),
            next_ticket: AtomicU64::new(0),
        }
    }

    /// The plan this schedule follows.
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// Where the measured window begins (throughput is counted from here).
    pub fn measure_start(&self) -> Instant {
        match self.plan.rate {
            None => self.start + self.plan.warmup,
            Some(rate) => self.intended(warmup_tickets(self.plan.warmup, rate), rate),
        }
    }

    /// Open loop: how many tickets are measured. `None` in closed loop.
    pub fn measured_tickets(&self) -> Option<u64> {
        let rate = self.plan.rate?;
        let by_duration = self.plan.duration.map(|d| tickets_in(d, rate));
        Some(match (self.plan.requests, by_duration) {
            (Some(n), Some(d)) => n.min(d),
            (Some(n), None) => n,
            (None, Some(d)) => d,
            (None, None) => 0,
        })
    }

    /// Open loop: measured tickets that were never sent, given how many were.
    pub fn missed(&self, measured_sent: u64) -> u64 {
        self.measured_tickets()
            .map_or(0, |total| total.saturating_sub(measured_sent))
    }

    /// The next decision for a worker asking at `now`.
    pub fn next(&self, now: Instant) -> Slot {
        if self.stop.is_stopped() {
            return Slot::Done;
        }
        match self.plan.rate {
            None => self.next_closed(now),
            Some(rate) => self.next_open(now, rate),
        }
    }

    fn next_closed(&self, now: Instant) -> Slot {
        let measure_start = self.start + self.plan.warmup;
        if now < measure_start {
            return Slot::Send {
                measured: false,
                intended: None,
            };
        }
        if let Some(duration) = self.plan.duration
            && now >= measure_start + duration
        {
            return Slot::Done;
        }
        if let Some(limit) = self.plan.requests
            && self.measured_claims.fetch_add(1, Ordering::Relaxed) >= limit
        {
            return Slot::Done;
        }
        Slot::Send {
            measured: true,
            intended: None,
        }
    }

    /// Open loop: how the pacer releases tickets (`extra` wake-ups at the end).
    pub fn pace(&self, extra: usize) -> Option<Pace> {
        let rate = self.plan.rate?;
        let (total, deadline) = self.open_loop_bounds(rate);
        Some(Pace {
            start: self.start,
            rate,
            total,
            extra,
            deadline,
        })
    }

    /// Open loop: all tickets (warm-up and measured), and when sending stops.
    fn open_loop_bounds(&self, rate: f64) -> (u64, Instant) {
        let total = warmup_tickets(self.plan.warmup, rate) + self.measured_tickets().unwrap_or(0);
        let window_end = self.intended(total, rate);
        (total, window_end + self.plan.timeout)
    }

    fn next_open(&self, now: Instant, rate: f64) -> Slot {
        let (total, deadline) = self.open_loop_bounds(rate);
        if now > deadline {
            return Slot::Done;
        }
        let ticket = self.next_ticket.fetch_add(1, Ordering::Relaxed);
        if ticket >= total {
            return Slot::Done;
        }
        Slot::Send {
            measured: ticket >= warmup_tickets(self.plan.warmup, rate),
            intended: Some(self.intended(ticket, rate)),
        }
    }

    fn intended(&self, ticket: u64, rate: f64) -> Instant {
        self.start + Duration::from_secs_f64(ticket as f64 / rate)
    }
}

/// Tickets intended strictly before the warm-up ends.
fn warmup_tickets(warmup: Duration, rate: f64) -> u64 {
    tickets_in(warmup, rate)
}

/// Number of tickets `i >= 0` with `i / rate < span`, i.e. `ceil(span × rate)`.
fn tickets_in(span: Duration, rate: f64) -> u64 {
    // The small slack keeps 0.5 s × 200/s at exactly 100 despite rounding in f64.
    let exact = span.as_secs_f64() * rate;
    (exact - 1e-9).ceil().max(0.0) as u64
}

#[cfg(test)]
mod tests;
