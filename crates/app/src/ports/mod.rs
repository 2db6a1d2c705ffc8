//! The ports: traits that adapters implement and use cases call.

pub mod clock;
pub mod event_store;

pub use clock::{Clock, SystemClock};

pub use event_store::{
    ActualRevision, AppendOutcome, CheckpointStore, EventMetadata, EventStore, EventStoreError,
    ExpectedRevision, MAX_EVENTS_PER_APPEND, NewEvent, Position, RecordedEvent, StreamName,
    StreamNameError,
};
