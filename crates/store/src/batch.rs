//! Group commit planning, shared by every adapter.
//!
//! Concurrent appends are queued and written together in one transaction, so
//! that many orders share one commit and one fsync. This module decides, for
//! one such batch and without any I/O, what each append does — write, return
//! the outcome of an earlier identical append, or refuse — as if the appends
//! had run one after another in queue order:
//!
//! * an append sees the stream revisions left by the appends before it in the
//!   same batch, so two appends to one stream in one batch behave exactly as
//!   they would in two transactions;
//! * an append whose event ids are all stored already (a retried request) is
//!   deduplicated; one that repeats only some stored ids is refused;
//! * a refused append writes nothing and does not affect the others.
//!
//! Global positions are only known once the adapter has the batch's base
//! position (the head before it), so writes carry an offset and outcomes are
//! resolved with [`PlannedOutcome::resolve`]. A committed batch's sizes are recorded by
//! the adapter with [`CommittedSizes::record`].

use std::collections::{HashMap, HashSet};

use orderflow_app::ports::{
    ActualRevision, AppendOutcome, EventStoreError, ExpectedRevision, MAX_EVENTS_PER_APPEND,
    NewEvent, Position, StreamName,
};
use tokio::sync::oneshot;
use uuid::Uuid;

/// One append waiting in the group-commit queue.
#[derive(Debug)]
pub(crate) struct AppendRequest {
    pub(crate) stream: StreamName,
    pub(crate) expected: ExpectedRevision,
    pub(crate) events: Vec<NewEvent>,
    pub(crate) reply: oneshot::Sender<Result<AppendOutcome, EventStoreError>>,
}

/// Where an already stored event sits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StoredEventRef {
    pub(crate) stream: StreamName,
    pub(crate) revision: u64,
    pub(crate) position: PlannedPosition,
}

/// A global position, either committed or to be assigned by this batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PlannedPosition {
    Committed(Position),
    /// 1-based offset after the batch's base position.
    InBatch(u64),
}

impl PlannedPosition {
    fn resolve(self, base: Position) -> Position {
        match self {
            PlannedPosition::Committed(position) => position,
            PlannedPosition::InBatch(offset) => Position::new(base.value() + offset),
        }
    }
}

/// Events to write for one accepted append.
#[derive(Debug)]
pub(crate) struct PlannedWrite<'a> {
    pub(crate) stream: &'a StreamName,
    pub(crate) first_revision: u64,
    /// Offset (1-based, after the base position) of the first event.
    pub(crate) first_offset: u64,
    pub(crate) events: &'a [NewEvent],
}

/// What one append of the batch will answer.
#[derive(Debug)]
pub(crate) enum PlannedOutcome {
    Write {
        last_revision: u64,
        last_offset: u64,
    },
    Deduplicated {
        last_revision: u64,
        last_position: PlannedPosition,
    },
    Refused(EventStoreError),
}

impl PlannedOutcome {
    /// The append's answer once the batch committed after `base`.
    pub(crate) fn resolve(self, base: Position) -> Result<AppendOutcome, EventStoreError> {
        match self {
            PlannedOutcome::Write {
                last_revision,
                last_offset,
            } => Ok(AppendOutcome {
                last_revision,
                last_position: PlannedPosition::InBatch(last_offset).resolve(base),
                deduplicated: false,
            }),
            PlannedOutcome::Deduplicated {
                last_revision,
                last_position,
            } => Ok(AppendOutcome {
                last_revision,
                last_position: last_position.resolve(base),
                deduplicated: true,
            }),
            PlannedOutcome::Refused(error) => Err(error),
        }
    }
}

/// The plan for one batch: writes in position order, one outcome per append.
#[derive(Debug)]
pub(crate) struct BatchPlan<'a> {
    pub(crate) writes: Vec<PlannedWrite<'a>>,
    pub(crate) outcomes: Vec<PlannedOutcome>,
    /// Stream revisions after the batch, for the streams it writes.
    pub(crate) stream_revisions: HashMap<&'a StreamName, u64>,
    /// How many events the batch writes.
    pub(crate) event_count: u64,
}

impl BatchPlan<'_> {
    /// What the batch writes, to record once it committed.
    pub(crate) fn sizes(&self, appends: usize) -> CommittedSizes {
        CommittedSizes {
            appends,
            events: self.event_count,
            events_per_write: self.writes.iter().map(|write| write.events.len()).collect(),
        }
    }
}

/// The sizes of one committed batch, for `/metrics`: appends per commit
/// (`orderflow_event_store_batch_appends`), events per commit
/// (`orderflow_event_store_batch_events`) and events per written append
/// (`orderflow_event_store_append_events`).
#[derive(Debug)]
pub(crate) struct CommittedSizes {
    appends: usize,
    events: u64,
    events_per_write: Vec<usize>,
}

impl CommittedSizes {
    pub(crate) fn record(self) {
        metrics::histogram!("orderflow_event_store_batch_appends").record(self.appends as f64);
        metrics::histogram!("orderflow_event_store_batch_events").record(self.events as f64);
        let per_append = metrics::histogram!("orderflow_event_store_append_events");
        for events in self.events_per_write {
            per_append.record(events as f64);
        }
    }
}

/// Checks an append on its own, before any lookup.
pub(crate) fn validate(events: &[NewEvent]) -> Result<(), EventStoreError> {
    if events.is_empty() {
        return Err(EventStoreError::InvalidAppend(
            "an append needs at least one event",
        ));
    }
    if events.len() > MAX_EVENTS_PER_APPEND {
        return Err(EventStoreError::InvalidAppend(
            "too many events in one append",
        ));
    }
    let mut ids = HashSet::with_capacity(events.len());
    if !events.iter().all(|event| ids.insert(event.id)) {
        return Err(EventStoreError::InvalidAppend(
            "an event id appears twice in one append",
        ));
    }
    Ok(())
}

/// Plans a batch. `revisions` holds the committed revision of every stream the
/// batch names (missing = no stream); `stored` every already committed event
/// whose id the batch names.
pub(crate) fn plan<'a>(
    requests: &'a [AppendRequest],
    revisions: &HashMap<StreamName, u64>,
    stored: &HashMap<Uuid, StoredEventRef>,
) -> BatchPlan<'a> {
    let mut stream_revisions: HashMap<&'a StreamName, u64> = HashMap::new();
    let mut written_in_batch: HashMap<Uuid, StoredEventRef> = HashMap::new();
    let mut writes = Vec::new();
    let mut outcomes = Vec::with_capacity(requests.len());
    let mut next_offset = 1u64;

    for request in requests {
        let lookup = |id: &Uuid| written_in_batch.get(id).or_else(|| stored.get(id));
        let outcome = if let Err(error) = validate(&request.events) {
            PlannedOutcome::Refused(error)
        } else if let Some(outcome) = deduplicate(request, lookup) {
            outcome
        } else {
            let actual = stream_revisions
                .get(&request.stream)
                .or_else(|| revisions.get(&request.stream))
                .map_or(ActualRevision::NoStream, |r| ActualRevision::Revision(*r));
            if request.expected.accepts(actual) {
                let first_revision = match actual {
                    ActualRevision::NoStream => 0,
                    ActualRevision::Revision(revision) => revision + 1,
                };
                let count = request.events.len() as u64;
                for (index, event) in request.events.iter().enumerate() {
                    let index = index as u64;
                    written_in_batch.insert(
                        event.id,
                        StoredEventRef {
                            stream: request.stream.clone(),
                            revision: first_revision + index,
                            position: PlannedPosition::InBatch(next_offset + index),
                        },
                    );
                }
                let last_revision = first_revision + count - 1;
                stream_revisions.insert(&request.stream, last_revision);
                writes.push(PlannedWrite {
                    stream: &request.stream,
                    first_revision,
                    first_offset: next_offset,
                    events: &request.events,
                });
                next_offset += count;
                PlannedOutcome::Write {
                    last_revision,
                    last_offset: next_offset - 1,
                }
            } else {
                PlannedOutcome::Refused(EventStoreError::WrongExpectedRevision {
                    stream: request.stream.clone(),
                    expected: request.expected,
                    actual,
                })
            }
        };
        outcomes.push(outcome);
    }

    BatchPlan {
        writes,
        outcomes,
        stream_revisions,
        event_count: next_offset - 1,
    }
}

/// `Some` when some of the append's ids are already stored: the earlier
/// outcome if it is the very same append, else a refusal.
fn deduplicate<'s>(
    request: &AppendRequest,
    lookup: impl Fn(&Uuid) -> Option<&'s StoredEventRef>,
) -> Option<PlannedOutcome> {
    let found: Vec<Option<&StoredEventRef>> =
        request.events.iter().map(|e| lookup(&e.id)).collect();
    let first_found = found.iter().position(Option::is_some)?;
    let refused = || {
        Some(PlannedOutcome::Refused(EventStoreError::DuplicateEventId {
            event_id: request.events[first_found].id,
        }))
    };
    let Some(Some(first)) = found.first() else {
        return refused();
    };
    let same_append = found.iter().enumerate().all(|(index, stored)| {
        stored.is_some_and(|stored| {
            stored.stream == request.stream && stored.revision == first.revision + index as u64
        })
    });
    if !same_append {
        return refused();
    }
    let last = found.last().copied().flatten()?;
    Some(PlannedOutcome::Deduplicated {
        last_revision: last.revision,
        last_position: last.position,
    })
}

#[cfg(test)]
#[path = "batch_tests.rs"]
mod tests;
