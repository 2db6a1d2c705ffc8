//! The event-store subscriptions a running orders service keeps, declared
//! once: `orderflow up` / `orderflow orders` start each of them, and
//! `orderflow projections status` reports each of them.

use orderflow_app::integration::IntegrationEventPublisher;
use orderflow_app::projections::search::SEARCH_PROJECTION;
use orderflow_app::push::PushPublisher;

/// Where a subscription keeps its checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckpointHome {
    /// In the index it writes, committed with its documents.
    SearchIndex,
    /// In the event store's checkpoint table.
    EventStore,
}

/// One event-store subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventStoreSubscription {
    pub name: &'static str,
    pub checkpoint: CheckpointHome,
    /// Run under a lease in server mode: one instance of a deployment at a time.
    pub leased: bool,
}

/// Every subscription of the orders service, in the order of the event's
/// travel: the search projection, then the two outboxes.
pub const EVENT_STORE_SUBSCRIPTIONS: [EventStoreSubscription; 3] = [
    EventStoreSubscription {
        name: SEARCH_PROJECTION,
        checkpoint: CheckpointHome::SearchIndex,
        leased: false,
    },
    EventStoreSubscription {
        name: PushPublisher::SUBSCRIPTION,
        checkpoint: CheckpointHome::EventStore,
        leased: true,
    },
    EventStoreSubscription {
        name: IntegrationEventPublisher::SUBSCRIPTION,
        checkpoint: CheckpointHome::EventStore,
        leased: true,
    },
];
