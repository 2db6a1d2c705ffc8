//! Which message ids a consumer runner has handled recently or is handling now, so a repeat
//! is not handled again: the [`Deduplicator`]'s window of handled ids, and the ids in flight.
//!
//! Guarantees: a delivery is a repeat when its id was handled ([`Handled::Done`](super::Handled))
//! within the window, or is claimed by a delivery still in flight; a request is never a repeat
//! (someone waits for its answer) and claims nothing. A claim ends when it is dropped —
//! settled, cancelled or panicked alike — so a failed delivery's redelivery is handled again.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use uuid::Uuid;

use super::Deduplicator;
use crate::ports::bus::Delivery;

#[derive(Debug)]
struct Ids {
    handled: Deduplicator,
    in_flight: HashSet<Uuid>,
}

/// The ids of one runner; cheap to clone.
#[derive(Debug, Clone)]
pub(super) struct SeenIds(Arc<Mutex<Ids>>);

/// A delivery's hold on its message id while it is in flight.
#[derive(Debug)]
pub(super) struct Claim {
    ids: SeenIds,
    id: Option<Uuid>,
}

impl SeenIds {
    /// At most `capacity` handled ids, each remembered for `window`.
    pub(super) fn new(capacity: usize, window: Duration) -> Self {
        SeenIds(Arc::new(Mutex::new(Ids {
            handled: Deduplicator::new(capacity, window),
            in_flight: HashSet::new(),
        })))
    }

    /// `None` when `delivery` repeats a message handled within the window or in flight; else
    /// its claim on the id.
    pub(super) fn claim(&self, delivery: &Delivery) -> Option<Claim> {
        if delivery.is_request() {
            return Some(Claim {
                ids: self.clone(),
                id: None,
            });
        }
        let id = delivery.message.id;
        let Ok(mut ids) = self.0.lock() else {
            // A poisoned lock: de-duplication is best effort, handle it.
            return Some(Claim {
                ids: self.clone(),
                id: None,
            });
        };
        if ids.in_flight.contains(&id) || ids.handled.is_duplicate(id) {
            return None;
        }
        ids.in_flight.insert(id);
        Some(Claim {
            ids: self.clone(),
            id: Some(id),
        })
    }

    /// Remembers `id` as handled.
    pub(super) fn record(&self, id: Uuid) {
        if let Ok(mut ids) = self.0.lock() {
            ids.handled.record(id);
        }
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        let Some(id) = self.id else { return };
        if let Ok(mut ids) = self.ids.0.lock() {
            ids.in_flight.remove(&id);
        }
    }
}
