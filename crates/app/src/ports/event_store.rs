//! The event store port.
//!
//! What every adapter (SQLite, PostgreSQL) promises, and what the shared
//! conformance suite in `orderflow-store` checks:
//!
//! * **Streams.** Events live in named streams (`order-{id}`). Each event has a
//!   stream revision, counted from 0 without gaps.
//! * **Optimistic concurrency.** [`EventStore::append`] writes one or more events
//!   atomically, only if the stream is at the [`ExpectedRevision`]; otherwise it
//!   fails with [`EventStoreError::WrongExpectedRevision`] and writes nothing.
//! * **Idempotent appends.** Appending events whose ids are already stored (a
//!   retried request) writes nothing and returns the first append's outcome,
//!   flagged `deduplicated`.
//! * **One global order.** Every event also has a global [`Position`]. Positions
//!   are assigned in commit order and have no gaps, so a reader that has seen
//!   position `p` has seen every committed event at or below `p`, and never
//!   skips an event that commits later.
//! * **Durability.** An append that returned `Ok` survives a crash.
//! * **Checkpoints.** [`CheckpointStore`] keeps, per subscription name, the
//!   last position that subscriber has handled; it moves only when told to.

use std::fmt;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tokio::sync::watch;
use uuid::Uuid;

/// Global position of an event: 1 for the first event ever stored, then +1 per
/// event in commit order. [`Position::START`] (0) is "before the first event".
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Position(u64);

impl Position {
    /// Before the first event: a new subscription starts here.
    pub const START: Position = Position(0);

    pub const fn new(value: u64) -> Self {
        Position(value)
    }

    pub const fn value(self) -> u64 {
        self.0
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Name of a stream: `{category}-{id}`, 1 to 200 printable ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct StreamName(String);

/// Why a text is not a valid [`StreamName`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid stream name {name:?}: expected 1 to {max} printable ASCII characters without spaces"
)]
pub struct StreamNameError {
    name: String,
    max: usize,
}

impl StreamName {
    pub const MAX_LEN: usize = 200;

    pub fn parse(name: impl Into<String>) -> Result<Self, StreamNameError> {
        let name = name.into();
        let valid = !name.is_empty()
            && name.len() <= Self::MAX_LEN
            && name.bytes().all(|b| b.is_ascii_graphic());
        if valid {
            Ok(StreamName(name))
        } else {
            Err(StreamNameError {
                name,
                max: Self::MAX_LEN,
            })
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part before the first `-`: `order` for `order-…`.
    pub fn category(&self) -> &str {
        self.0
            .split_once('-')
            .map_or(&self.0, |(category, _)| category)
    }
}

impl TryFrom<String> for StreamName {
    type Error = StreamNameError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        StreamName::parse(value)
    }
}

impl From<StreamName> for String {
    fn from(value: StreamName) -> Self {
        value.0
    }
}

impl fmt::Display for StreamName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The state a stream must be in for an append to go through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpectedRevision {
    /// The stream must not exist yet (creating an order).
    NoStream,
    /// The stream's last event must have exactly this revision.
    Exact(u64),
    /// No check: append at the end, whatever is there.
    Any,
}

impl fmt::Display for ExpectedRevision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExpectedRevision::NoStream => f.write_str("no stream"),
            ExpectedRevision::Exact(revision) => write!(f, "revision {revision}"),
            ExpectedRevision::Any => f.write_str("any"),
        }
    }
}

/// Who caused an event and why: carried by every event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventMetadata {
    /// Shared by every event and message of one user request.
    pub correlation_id: Uuid,
    /// The id of the command or message that caused this event.
    pub causation_id: Uuid,
    /// The acting user (`sub` of the token), if any.
    pub user_id: Option<String>,
    /// When the event happened, by the application's clock.
    #[serde(with = "time::serde::rfc3339")]
    pub occurred_at: OffsetDateTime,
    /// The W3C trace context of the work that appended it (`traceparent`, `tracestate`):
    /// the subscriptions that handle the event continue that trace.
    #[serde(default)]
    pub trace: crate::TraceContext,
}

/// An event to append.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    /// Unique per event; appending an id that is already stored is a no-op.
    pub id: Uuid,
    pub event_type: String,
    pub schema_version: u16,
    pub data: serde_json::Value,
    pub metadata: EventMetadata,
}

/// An event as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedEvent {
    pub id: Uuid,
    pub stream: StreamName,
    /// Revision within the stream, from 0.
    pub revision: u64,
    /// Global position, in commit order, from 1.
    pub position: Position,
    pub event_type: String,
    pub schema_version: u16,
    pub data: serde_json::Value,
    pub metadata: EventMetadata,
}

/// What an append did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendOutcome {
    /// Revision of the last event of this append: pass it as
    /// `ExpectedRevision::Exact` to append after it.
    pub last_revision: u64,
    /// Global position of the last event of this append.
    pub last_position: Position,
    /// True when every event was already stored and nothing was written.
    pub deduplicated: bool,
}

/// Why an event store call failed. Callers map
/// [`EventStoreError::WrongExpectedRevision`] to HTTP 409 and
/// [`EventStoreError::Unavailable`] to 503.
#[derive(Debug, thiserror::Error)]
pub enum EventStoreError {
    #[error("stream {stream} is at {actual} but the append expected {expected}")]
    WrongExpectedRevision {
        stream: StreamName,
        expected: ExpectedRevision,
        /// `None` when the stream does not exist.
        actual: ActualRevision,
    },
    #[error("event {event_id} is already stored, but not as part of the same append")]
    DuplicateEventId { event_id: Uuid },
    #[error("invalid append: {0}")]
    InvalidAppend(&'static str),
    /// The store cannot be reached now; the failure underneath is the source.
    #[error("event store unavailable: {0}")]
    Unavailable(#[source] crate::error::Cause),
    /// Stored data that does not read back; what is wrong is the source.
    #[error("stored data is corrupt: {0}")]
    Corrupt(#[source] crate::error::Cause),
}

/// The revision a stream actually had when an append was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActualRevision {
    NoStream,
    Revision(u64),
}

impl fmt::Display for ActualRevision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ActualRevision::NoStream => f.write_str("no stream"),
            ActualRevision::Revision(revision) => write!(f, "revision {revision}"),
        }
    }
}

impl ExpectedRevision {
    /// Whether a stream at `actual` satisfies this expectation.
    pub fn accepts(self, actual: ActualRevision) -> bool {
        match (self, actual) {
            (ExpectedRevision::Any, _) => true,
            (ExpectedRevision::NoStream, ActualRevision::NoStream) => true,
            (ExpectedRevision::Exact(expected), ActualRevision::Revision(actual)) => {
                expected == actual
            }
            _ => false,
        }
    }
}

/// Most events an adapter accepts in one append.
pub const MAX_EVENTS_PER_APPEND: usize = 1_000;

#[async_trait]
pub trait EventStore: Send + Sync + 'static {
    /// Appends `events` to `stream` atomically if it is at `expected`.
    async fn append(
        &self,
        stream: &StreamName,
        expected: ExpectedRevision,
        events: Vec<NewEvent>,
    ) -> Result<AppendOutcome, EventStoreError>;

    /// Reads up to `max_count` events of `stream`, from `from_revision` on.
    /// A stream that does not exist reads as empty.
    async fn read_stream(
        &self,
        stream: &StreamName,
        from_revision: u64,
        max_count: usize,
    ) -> Result<Vec<RecordedEvent>, EventStoreError>;

    /// Reads up to `max_count` events of all streams with a position after
    /// `after`, in position order, without gaps.
    async fn read_all(
        &self,
        after: Position,
        max_count: usize,
    ) -> Result<Vec<RecordedEvent>, EventStoreError>;

    /// The position of the last committed event ([`Position::START`] if none).
    async fn head(&self) -> Result<Position, EventStoreError>;

    /// A hint channel that changes when new events may have been committed.
    /// It is a wake-up, not a guarantee: readers still poll slowly, and must
    /// read with [`EventStore::read_all`] to learn what is there.
    fn watch_head(&self) -> watch::Receiver<Position>;
}

/// Stores, per subscription name, the last position that subscriber handled.
#[async_trait]
pub trait CheckpointStore: Send + Sync + 'static {
    /// The stored checkpoint, or [`Position::START`] for a new subscription.
    async fn load_checkpoint(&self, subscription: &str) -> Result<Position, EventStoreError>;

    /// Stores `position` as the checkpoint of `subscription`.
    async fn save_checkpoint(
        &self,
        subscription: &str,
        position: Position,
    ) -> Result<(), EventStoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_names_are_printable_ascii_without_spaces() {
        assert!(StreamName::parse("order-1").is_ok());
        assert!(StreamName::parse("").is_err());
        assert!(StreamName::parse("order 1").is_err());
        assert!(StreamName::parse("x".repeat(201)).is_err());
        assert!(StreamName::parse("ördér-1").is_err());
    }

    #[test]
    fn the_category_is_the_part_before_the_first_dash() {
        let name = StreamName::parse("order-0190-abc").unwrap();
        assert_eq!(name.category(), "order");
    }

    #[test]
    fn expected_revisions_accept_only_matching_streams() {
        use ActualRevision::{NoStream, Revision};
        assert!(ExpectedRevision::NoStream.accepts(NoStream));
        assert!(!ExpectedRevision::NoStream.accepts(Revision(0)));
        assert!(ExpectedRevision::Exact(3).accepts(Revision(3)));
        assert!(!ExpectedRevision::Exact(3).accepts(Revision(4)));
        assert!(!ExpectedRevision::Exact(0).accepts(NoStream));
        assert!(ExpectedRevision::Any.accepts(NoStream));
        assert!(ExpectedRevision::Any.accepts(Revision(9)));
    }
}
