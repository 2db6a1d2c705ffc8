//! The ports: traits that adapters implement and use cases call.

pub mod bus;
pub mod clock;
pub mod event_store;
pub mod fresh_indexes;
pub mod inbox;
pub mod lease;
pub mod read_model;
pub mod search;

pub use bus::{
    BusError, Delivery, Message, MessageBus, MessagePublisher, MessageRequester, MessageSubscriber,
    QueueMode, QueueSubscription, SubscriptionSpec,
};
pub use clock::{Clock, SystemClock};
pub use fresh_indexes::{FreshIndexes, RebuildError};
pub use inbox::{
    InboxBounds, InboxEntry, InboxError, InboxPush, PRUNE_CHUNK_ROWS, Pruned, PushInbox, Recorded,
};
pub use lease::{Lease, Leases};

pub use event_store::{
    ActualRevision, AppendOutcome, CheckpointStore, EventMetadata, EventStore, EventStoreError,
    ExpectedRevision, MAX_EVENTS_PER_APPEND, NewEvent, Position, RecordedEvent, StreamName,
    StreamNameError,
};
pub use read_model::{
    CreatedOrder, GatewayOrder, GatewayOrderLine, OrderListCursor, OrderListPage, OrderListQuery,
    OrderReadModel, ReadModelError, StatusChange,
};
pub use search::{
    IndexUpdate, OrderDocument, ProjectionCheckpoint, SearchCursor, SearchError, SearchIndex,
    SearchPage, SearchQuery, SearchQueryError, SearchScope,
};
