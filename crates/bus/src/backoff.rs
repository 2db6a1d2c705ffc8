//! Exponential backoff with jitter for reconnection loops: each delay is
//! between half and all of the current step, the step doubles up to `max`,
//! and [`Backoff::reset`] starts over after a success. Never zero, never
//! more than `max`.

use std::time::Duration;

/// Delays between attempts to reach the broker.
#[derive(Debug, Clone)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    step: Duration,
}

impl Backoff {
    pub fn new(initial: Duration, max: Duration) -> Self {
        let initial = initial.max(Duration::from_millis(1));
        let max = max.max(initial);
        Backoff {
            initial,
            max,
            step: initial,
        }
    }

    /// The delay before the next attempt.
    pub fn next_delay(&mut self) -> Duration {
        let step = self.step;
        self.step = (self.step * 2).min(self.max);
        // Jitter from a random UUID: no extra dependency for one number.
        let random = (uuid::Uuid::new_v4().as_u128() % 1000) as u32;
        step / 2 + step / 2 * random / 1000
    }

    /// After a success: the next failure waits the initial delay again.
    pub fn reset(&mut self) {
        self.step = self.initial;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_the_maximum_and_reset() {
        let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_millis(400));
        let delays: Vec<Duration> = (0..5).map(|_| backoff.next_delay()).collect();
        for (delay, step) in delays.iter().zip([100, 200, 400, 400, 400]) {
            assert!(*delay >= Duration::from_millis(step / 2));
            assert!(*delay <= Duration::from_millis(step));
        }
        backoff.reset();
        assert!(backoff.next_delay() <= Duration::from_millis(100));
    }
}
