//! What both adapters share: entry states, the clock they read, the age cut-off, and time
//! to the microsecond.

use std::sync::Arc;

use orderflow_app::ports::{Clock, InboxBounds, InboxError};
use time::OffsetDateTime;

/// An entry waiting for its acknowledgement.
pub(crate) const PENDING: i16 = 0;
/// An entry a connection of its user acknowledged.
pub(crate) const ACKNOWLEDGED: i16 = 1;
/// An entry dropped at the count bound.
pub(crate) const DROPPED: i16 = 2;

/// The clock an inbox reads (the system's in production, a test's in the suite).
#[derive(Clone)]
pub struct SharedClock(pub Arc<dyn Clock>);

impl std::fmt::Debug for SharedClock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SharedClock")
    }
}

impl SharedClock {
    /// The system clock.
    pub fn system() -> Self {
        Self(Arc::new(orderflow_app::ports::SystemClock))
    }

    /// Now, to the microsecond.
    pub(crate) fn now(&self) -> OffsetDateTime {
        truncated(self.0.now())
    }

    /// Entries recorded at or before this instant are past the age bound.
    pub(crate) fn age_cutoff(&self, bounds: &InboxBounds) -> OffsetDateTime {
        let max_age = time::Duration::try_from(bounds.max_age).unwrap_or(time::Duration::MAX);
        self.now()
            .checked_sub(max_age)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }
}

/// `at` truncated to the microsecond, as both adapters store it.
pub(crate) fn truncated(at: OffsetDateTime) -> OffsetDateTime {
    at.replace_nanosecond(at.nanosecond() / 1_000 * 1_000)
        .unwrap_or(at)
}

/// Unix microseconds (SQLite's representation).
pub(crate) fn micros(at: OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos() / 1_000).unwrap_or(i64::MAX)
}

pub(crate) fn from_micros(micros: i64) -> Result<OffsetDateTime, InboxError> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1_000)
        .map_err(|error| InboxError::Internal(format!("stored time {micros}: {error}")))
}

/// The users of a push, each once, in their first order.
pub(crate) fn distinct<S: AsRef<str>>(users: &[S]) -> Vec<&str> {
    let mut seen = std::collections::HashSet::new();
    users
        .iter()
        .map(AsRef::as_ref)
        .filter(|user| seen.insert(*user))
        .collect()
}
