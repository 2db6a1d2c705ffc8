//! De-duplication of message ids within a window, for consumers of an
//! at-least-once bus: best effort, bounded in count and time.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use tokio::time::Instant;
use uuid::Uuid;

/// Remembers recently handled message ids, so a consumer can skip a message
/// it has already handled: at most `capacity` ids, each for at most `window`.
///
/// Best effort: an id older than the window, evicted by newer ones, or seen by
/// another instance is not recognised. At-least-once stays the contract and
/// handlers stay idempotent; this only saves repeated work.
///
/// Record an id only once its message is handled ([`Deduplicator::record`]
/// after the work, before the ack): recording first would make a redelivery of
/// a message whose handling failed look like a duplicate.
#[derive(Debug)]
pub struct Deduplicator {
    capacity: usize,
    window: Duration,
    seen: HashMap<Uuid, Instant>,
    order: VecDeque<(Uuid, Instant)>,
}

impl Deduplicator {
    /// At most `capacity` ids (at least one), each kept for `window`.
    pub fn new(capacity: usize, window: Duration) -> Self {
        Deduplicator {
            capacity: capacity.max(1),
            window,
            seen: HashMap::new(),
            order: VecDeque::new(),
        }
    }

    /// Whether `id` was recorded within the window.
    pub fn is_duplicate(&mut self, id: Uuid) -> bool {
        self.expire(Instant::now());
        self.seen.contains_key(&id)
    }

    /// Remembers `id` as handled, now.
    pub fn record(&mut self, id: Uuid) {
        let now = Instant::now();
        self.expire(now);
        self.seen.insert(id, now);
        self.order.push_back((id, now));
        while self.seen.len() > self.capacity {
            self.pop_oldest();
        }
    }

    /// [`Deduplicator::is_duplicate`], then [`Deduplicator::record`]: `true`
    /// the first time. For handlers that cannot fail half-way.
    pub fn first_time(&mut self, id: Uuid) -> bool {
        if self.is_duplicate(id) {
            return false;
        }
        self.record(id);
        true
    }

    /// How many ids are remembered.
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }

    fn expire(&mut self, now: Instant) {
        while let Some(&(_, at)) = self.order.front() {
            if now.duration_since(at) < self.window {
                break;
            }
            self.pop_oldest();
        }
    }

    fn pop_oldest(&mut self) {
        let Some((id, at)) = self.order.pop_front() else {
            return;
        };
        // A re-recorded id has a newer entry further back: keep it.
        if self.seen.get(&id) == Some(&at) {
            self.seen.remove(&id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dedup() -> Deduplicator {
        Deduplicator::new(3, Duration::from_secs(60))
    }

    #[tokio::test(start_paused = true)]
    async fn a_recorded_id_is_a_duplicate_within_the_window_only() {
        let mut dedup = dedup();
        let id = Uuid::new_v4();
        assert!(dedup.first_time(id));
        assert!(!dedup.first_time(id));
        tokio::time::advance(Duration::from_secs(61)).await;
        assert!(!dedup.is_duplicate(id));
        assert!(dedup.is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn the_oldest_ids_are_forgotten_beyond_the_capacity() {
        let mut dedup = dedup();
        let ids: Vec<Uuid> = (0..4).map(|_| Uuid::new_v4()).collect();
        for id in &ids {
            dedup.record(*id);
        }
        assert_eq!(dedup.len(), 3);
        assert!(!dedup.is_duplicate(ids[0]));
        assert!(ids[1..].iter().all(|id| dedup.is_duplicate(*id)));
    }

    #[tokio::test(start_paused = true)]
    async fn recording_again_restarts_the_window() {
        let mut dedup = dedup();
        let id = Uuid::new_v4();
        dedup.record(id);
        tokio::time::advance(Duration::from_secs(40)).await;
        dedup.record(id);
        tokio::time::advance(Duration::from_secs(40)).await;
        assert!(dedup.is_duplicate(id));
        assert_eq!(dedup.len(), 1);
    }
}
