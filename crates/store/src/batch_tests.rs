//! Unit tests of the batch planner: appends in one batch see each other's revisions, a
//! repeated append is deduplicated, reused event ids are refused, and a refused append leaves
//! no gap in positions.

use super::*;
use orderflow_app::ports::EventMetadata;
use time::OffsetDateTime;

fn event() -> NewEvent {
    NewEvent {
        id: Uuid::new_v4(),
        event_type: "Tested".into(),
        schema_version: 1,
        data: serde_json::json!({}),
        metadata: EventMetadata {
            correlation_id: Uuid::new_v4(),
            causation_id: Uuid::new_v4(),
            user_id: None,
            occurred_at: OffsetDateTime::UNIX_EPOCH,
            trace: orderflow_app::TraceContext::none(),
        },
    }
}

fn request(stream: &str, expected: ExpectedRevision, events: Vec<NewEvent>) -> AppendRequest {
    AppendRequest {
        stream: StreamName::parse(stream).unwrap(),
        expected,
        events,
        reply: oneshot::channel().0,
    }
}

fn resolve_all(plan: BatchPlan<'_>, base: u64) -> Vec<Result<AppendOutcome, EventStoreError>> {
    plan.outcomes
        .into_iter()
        .map(|o| o.resolve(Position::new(base)))
        .collect()
}

#[test]
fn appends_in_one_batch_see_each_others_revisions() {
    let requests = vec![
        request(
            "order-1",
            ExpectedRevision::NoStream,
            vec![event(), event()],
        ),
        request("order-1", ExpectedRevision::Exact(1), vec![event()]),
        request("order-1", ExpectedRevision::NoStream, vec![event()]),
    ];
    let plan = plan(&requests, &HashMap::new(), &HashMap::new());
    assert_eq!(plan.event_count, 3);
    let outcomes = resolve_all(plan, 10);
    assert_eq!(
        outcomes[0].as_ref().unwrap().last_position,
        Position::new(12)
    );
    assert_eq!(outcomes[1].as_ref().unwrap().last_revision, 2);
    assert_eq!(
        outcomes[1].as_ref().unwrap().last_position,
        Position::new(13)
    );
    assert!(matches!(
        outcomes[2],
        Err(EventStoreError::WrongExpectedRevision {
            actual: ActualRevision::Revision(2),
            ..
        })
    ));
}

#[test]
fn a_repeated_append_in_the_same_batch_is_deduplicated() {
    let events = vec![event(), event()];
    let requests = vec![
        request("order-1", ExpectedRevision::NoStream, events.clone()),
        request("order-1", ExpectedRevision::NoStream, events),
    ];
    let outcomes = resolve_all(plan(&requests, &HashMap::new(), &HashMap::new()), 0);
    let first = outcomes[0].as_ref().unwrap();
    let second = outcomes[1].as_ref().unwrap();
    assert!(!first.deduplicated && second.deduplicated);
    assert_eq!(first.last_position, second.last_position);
}

#[test]
fn reusing_some_stored_ids_in_another_append_is_refused() {
    let stored_event = event();
    let stored = HashMap::from([(
        stored_event.id,
        StoredEventRef {
            stream: StreamName::parse("order-1").unwrap(),
            revision: 0,
            position: PlannedPosition::Committed(Position::new(7)),
        },
    )]);
    let requests = vec![request(
        "order-1",
        ExpectedRevision::Any,
        vec![event(), stored_event],
    )];
    let outcomes = resolve_all(plan(&requests, &HashMap::new(), &stored), 7);
    assert!(matches!(
        outcomes[0],
        Err(EventStoreError::DuplicateEventId { .. })
    ));
}

#[test]
fn a_refused_append_leaves_no_gap_in_positions() {
    let requests = vec![
        request("order-1", ExpectedRevision::Exact(5), vec![event()]),
        request("order-2", ExpectedRevision::NoStream, vec![event()]),
        request("order-3", ExpectedRevision::NoStream, vec![]),
    ];
    let plan = plan(&requests, &HashMap::new(), &HashMap::new());
    assert_eq!(plan.writes.len(), 1);
    assert_eq!(plan.writes[0].first_offset, 1);
    let outcomes = resolve_all(plan, 0);
    assert!(outcomes[0].is_err());
    assert_eq!(
        outcomes[1].as_ref().unwrap().last_position,
        Position::new(1)
    );
    assert!(matches!(
        outcomes[2],
        Err(EventStoreError::InvalidAppend(_))
    ));
}
