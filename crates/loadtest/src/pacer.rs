//! Open-loop pacing from a dedicated OS thread.
//!
//! Tokio's timer has millisecond granularity, so a task sleeping until a request's
//! intended time wakes up to ~1 ms late, and that lag would be charged to the server as
//! latency. The pacer thread sleeps with the OS's finer timer and releases one permit per
//! ticket as it falls due; a worker claims its ticket only after taking a permit.
//!
//! Guarantees: permits are released in order and never early (the k-th permit at or after
//! `start + (k-1) / rate`), so a claimed ticket is always due; at most `total` ticket
//! permits are released, then `extra` more so that idle workers wake up and see the
//! schedule is exhausted; after `deadline`, on a stop, or when the run ends, the permits
//! are closed and every waiting worker returns. The thread is joined by [`Pacer::finish`].

use std::sync::Arc;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;

use crate::stop::StopSignal;

/// Longest the thread naps between checks of the stop signal.
const MAX_NAP: Duration = Duration::from_millis(50);

/// Handle on the pacing thread.
#[derive(Debug)]
pub struct Pacer {
    permits: Arc<Semaphore>,
    /// Dropping it tells the thread the run is over.
    run_over: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

/// When and how many permits to release.
#[derive(Debug, Clone, Copy)]
pub struct Pace {
    /// Ticket 0 is due here.
    pub start: Instant,
    /// Tickets per second.
    pub rate: f64,
    /// Tickets to release.
    pub total: u64,
    /// Permits added once all tickets are out (one per worker).
    pub extra: usize,
    /// No permit is released after this.
    pub deadline: Instant,
}

impl Pacer {
    /// Starts the pacing thread.
    pub fn start(pace: Pace, stop: StopSignal) -> std::io::Result<Self> {
        let permits = Arc::new(Semaphore::new(0));
        let (run_over, run_over_rx) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("loadtest-pacer".into())
            .spawn({
                let permits = Arc::clone(&permits);
                move || {
                    release(&pace, &permits, &run_over_rx, &stop);
                    permits.close();
                }
            })?;
        Ok(Self {
            permits,
            run_over: Some(run_over),
            thread: Some(thread),
        })
    }

    /// A handle for workers to wait for their turn.
    pub fn turns(&self) -> Turns {
        Turns {
            permits: Arc::clone(&self.permits),
        }
    }

    /// Ends pacing (waking any waiter) and joins the thread.
    pub fn finish(mut self) {
        self.shut_down();
    }

    fn shut_down(&mut self) {
        self.run_over.take();
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            tracing::warn!("the pacer thread panicked");
            self.permits.close();
        }
    }
}

impl Drop for Pacer {
    fn drop(&mut self) {
        self.shut_down();
    }
}

/// The workers' side of a [`Pacer`].
#[derive(Debug, Clone)]
pub struct Turns {
    permits: Arc<Semaphore>,
}

impl Turns {
    /// Waits for the next permit (first come, first served); `false` once pacing ended.
    pub async fn wait(&self) -> bool {
        match self.permits.acquire().await {
            Ok(permit) => {
                permit.forget();
                true
            }
            Err(_closed) => false,
        }
    }
}

/// The thread's loop; returns when pacing is over (the caller closes the permits).
fn release(pace: &Pace, permits: &Semaphore, run_over: &mpsc::Receiver<()>, stop: &StopSignal) {
    let mut released = 0u64;
    while released < pace.total {
        let now = Instant::now();
        if stop.is_stopped() || now > pace.deadline {
            return;
        }
        let due = due_by(pace, now);
        if due > released {
            permits.add_permits(usize::try_from(due - released).unwrap_or(usize::MAX));
            released = due;
        }
        let next = pace.start + Duration::from_secs_f64(released as f64 / pace.rate);
        if released < pace.total && !nap(run_over, next.saturating_duration_since(now)) {
            return;
        }
    }
    permits.add_permits(pace.extra);
    // Every ticket is out; late workers may still be catching up until the deadline.
    while !stop.is_stopped() && Instant::now() <= pace.deadline {
        if !nap(run_over, MAX_NAP) {
            return;
        }
    }
}

/// Sleeps up to `duration` (at most [`MAX_NAP`]); `false` if the run ended meanwhile.
fn nap(run_over: &mpsc::Receiver<()>, duration: Duration) -> bool {
    matches!(
        run_over.recv_timeout(duration.min(MAX_NAP)),
        Err(RecvTimeoutError::Timeout)
    )
}

/// Tickets due at `now`: ticket `i` is due at `start + i / rate`.
fn due_by(pace: &Pace, now: Instant) -> u64 {
    let Some(elapsed) = now.checked_duration_since(pace.start) else {
        return 0;
    };
    let due = (elapsed.as_secs_f64() * pace.rate).floor() as u64 + 1;
    due.min(pace.total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pace(start: Instant, rate: f64, total: u64) -> Pace {
        Pace {
            start,
            rate,
            total,
            extra: 2,
            deadline: start + Duration::from_secs(5),
        }
    }

    #[test]
    fn tickets_fall_due_at_start_plus_i_over_rate() {
        let start = Instant::now();
        let p = pace(start, 1000.0, 10);
        assert_eq!(due_by(&p, start), 1);
        assert_eq!(due_by(&p, start + Duration::from_micros(999)), 1);
        assert_eq!(due_by(&p, start + Duration::from_micros(1000)), 2);
        assert_eq!(
            due_by(&p, start + Duration::from_secs(1)),
            10,
            "capped at total"
        );
    }

    #[tokio::test]
    async fn permits_come_at_the_rate_never_early_then_the_extras_then_the_end() {
        let start = Instant::now();
        let pacer = Pacer::start(pace(start, 200.0, 10), StopSignal::new()).expect("thread");
        let turns = pacer.turns();
        for i in 0..10u32 {
            assert!(turns.wait().await);
            let due = start + Duration::from_secs_f64(f64::from(i) / 200.0);
            assert!(Instant::now() >= due, "permit {i} came early");
        }
        assert!(
            Instant::now() < start + Duration::from_millis(45 + 500),
            "far too slow"
        );
        assert!(turns.wait().await && turns.wait().await, "two extras");
        pacer.finish();
    }

    #[tokio::test]
    async fn waiters_are_released_when_pacing_stops() {
        let start = Instant::now();
        let stop = StopSignal::new();
        let pacer = Pacer::start(pace(start + Duration::from_secs(60), 1.0, 10), stop.clone())
            .expect("thread");
        let turns = pacer.turns();
        let waiter = tokio::spawn(async move { turns.wait().await });
        stop.stop();
        let went = tokio::time::timeout(Duration::from_secs(2), waiter)
            .await
            .expect("woken")
            .expect("joined");
        assert!(!went);
        pacer.finish();
    }

    #[tokio::test]
    async fn finishing_the_run_ends_pacing_at_once() {
        let start = Instant::now();
        let pacer = Pacer::start(pace(start, 1.0, 1000), StopSignal::new()).expect("thread");
        let turns = pacer.turns();
        assert!(turns.wait().await, "ticket 0 is due at start");
        pacer.finish();
        assert!(!turns.wait().await);
        assert!(start.elapsed() < Duration::from_secs(1));
    }
}
