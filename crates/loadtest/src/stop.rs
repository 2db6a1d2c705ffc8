//! A one-way stop signal shared by the workers (set by Ctrl-C).
//!
//! Once [`StopSignal::stop`] has been called, [`StopSignal::is_stopped`] is true forever
//! and every current or future [`StopSignal::stopped`] future completes: no wake-up is lost.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::Notify;

/// Cloneable handle; all clones share one flag.
#[derive(Debug, Clone, Default)]
pub struct StopSignal {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    stopped: AtomicBool,
    notify: Notify,
}

impl StopSignal {
    /// A signal that has not fired.
    pub fn new() -> Self {
        Self::default()
    }

    /// Fires the signal (idempotent).
    pub fn stop(&self) {
        self.inner.stopped.store(true, Ordering::SeqCst);
        self.inner.notify.notify_waiters();
    }

    /// Whether the signal has fired.
    pub fn is_stopped(&self) -> bool {
        self.inner.stopped.load(Ordering::SeqCst)
    }

    /// Completes once the signal has fired.
    pub async fn stopped(&self) {
        loop {
            let notified = self.inner.notify.notified();
            tokio::pin!(notified);
            // Register before checking the flag, so a `stop` in between still wakes us.
            notified.as_mut().enable();
            if self.is_stopped() {
                return;
            }
            notified.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn a_stop_wakes_every_waiter_and_later_ones_return_at_once() {
        let signal = StopSignal::new();
        let waiter = tokio::spawn({
            let signal = signal.clone();
            async move { signal.stopped().await }
        });
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert!(!signal.is_stopped());
        signal.stop();
        tokio::time::timeout(Duration::from_secs(1), waiter)
            .await
            .expect("woken")
            .expect("joined");
        tokio::time::timeout(Duration::from_millis(100), signal.stopped())
            .await
            .expect("already stopped");
    }
}
