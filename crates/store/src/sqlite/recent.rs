//! The newest committed events, kept in memory for the subscriptions that follow the head.
//!
//! Every subscription of a service (search projection, push publisher, integration outbox)
//! reads every event just after it is committed. Read from the file, each of them paid a
//! blocking-pool hop, a SQLite query and a JSON parse for the same events; the writer thread
//! still holds them when it commits, so it leaves them here instead.
//!
//! Guarantees:
//! - only events whose commit is durable are held: the writer adds a batch after its commit
//!   returned and before the head moves, so a reader woken by the head finds them here;
//! - what is held is one gap-free run of positions, the newest [`RecentEvents::new`]'s
//!   `capacity` at most; a batch that does not continue the run (there is no such batch
//!   from the one writer, but nothing relies on that) replaces it;
//! - [`RecentEvents::read_after`] answers only when the run holds the event right after
//!   `after`, with the run's events from there on (at most `max_count`), in position order: exactly
//!   what the file holds at those positions. Otherwise it answers `None` and the caller reads
//!   the file. An answer may stop short of events committed a moment ago; their head
//!   notification follows, as with a read of the file.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use orderflow_app::ports::{Position, RecordedEvent};

/// Events kept when the writer does not say: a few seconds of a busy service.
pub(crate) const DEFAULT_CAPACITY: usize = 4096;

/// The newest run of committed events.
#[derive(Debug)]
pub(crate) struct RecentEvents {
    run: Mutex<VecDeque<Arc<RecordedEvent>>>,
    capacity: usize,
}

impl RecentEvents {
    pub(crate) fn new(capacity: usize) -> Self {
        RecentEvents {
            run: Mutex::new(VecDeque::with_capacity(capacity.min(DEFAULT_CAPACITY))),
            capacity,
        }
    }

    /// Adds a committed batch, in position order. A batch that is not one gap-free run
    /// continuing what is held replaces it (or, if not gap-free itself, empties it).
    pub(crate) fn extend(&self, committed: Vec<RecordedEvent>) {
        let Some(first) = committed.first().map(|event| event.position.value()) else {
            return;
        };
        if self.capacity == 0 {
            return;
        }
        let gap_free = committed
            .iter()
            .enumerate()
            .all(|(offset, event)| event.position.value() == first + offset as u64);
        let Ok(mut run) = self.run.lock() else {
            return;
        };
        let continues = run
            .back()
            .is_none_or(|last| last.position.value() + 1 == first);
        if !gap_free || !continues {
            run.clear();
        }
        if !gap_free {
            return;
        }
        for event in committed {
            if run.len() == self.capacity {
                run.pop_front();
            }
            run.push_back(Arc::new(event));
        }
    }

    /// The events after `after`, at most `max_count`, if the run holds the first of them;
    /// `None`: read the file.
    pub(crate) fn read_after(
        &self,
        after: Position,
        max_count: usize,
    ) -> Option<Vec<RecordedEvent>> {
        if max_count == 0 {
            return None;
        }
        let held: Vec<Arc<RecordedEvent>> = {
            let run = self.run.lock().ok()?;
            let first = run.front()?.position.value();
            let last = run.back()?.position.value();
            let next = after.value().checked_add(1)?;
            if next < first || next > last {
                return None;
            }
            let start = usize::try_from(next - first).ok()?;
            run.range(start..).take(max_count).cloned().collect()
        };
        // Copied outside the lock: the writer never waits for a reader's copies.
        Some(
            held.iter()
                .map(|event| RecordedEvent::clone(event))
                .collect(),
        )
    }
}

#[cfg(test)]
#[path = "recent_tests.rs"]
mod tests;
