//! The last position each running subscription loop of this process handled, kept by name
//! for the lag gauges `/metrics` computes at scrape time.
//!
//! Guarantees: a name is listed while at least one [`super::run_subscription`] loop runs
//! under it (its [`HandledPosition`] alive), with the last position that loop recorded.

use crate::ports::Position;

/// The last position each running subscription of this process handled, by name: what
/// `/metrics` computes the lag gauges from at scrape time (so a stalled subscription's lag
/// keeps growing even though it records nothing).
pub fn handled_positions() -> Vec<(String, Position)> {
    let running = RUNNING
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    running
        .iter()
        .map(|(name, (position, _))| (name.clone(), *position))
        .collect()
}

/// Running subscriptions: (last handled position, how many loops run under the name).
static RUNNING: std::sync::Mutex<std::collections::BTreeMap<String, (Position, usize)>> =
    std::sync::Mutex::new(std::collections::BTreeMap::new());

/// One [`super::run_subscription`] loop's entry in [`handled_positions`], removed when it ends.
pub(super) struct HandledPosition {
    name: String,
}

impl HandledPosition {
    pub(super) fn register(name: String, start: Position) -> Self {
        let mut running = RUNNING
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let entry = running.entry(name.clone()).or_insert((start, 0));
        entry.1 += 1;
        HandledPosition { name }
    }

    pub(super) fn set(&self, position: Position) {
        let mut running = RUNNING
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(entry) = running.get_mut(&self.name) {
            entry.0 = position;
        }
    }
}

impl Drop for HandledPosition {
    fn drop(&mut self) {
        let mut running = RUNNING
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(entry) = running.get_mut(&self.name) {
            entry.1 -= 1;
            if entry.1 == 0 {
                running.remove(&self.name);
            }
        }
    }
}
