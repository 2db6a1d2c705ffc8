use orderflow_app::TraceContext;
use orderflow_app::ports::{EventMetadata, StreamName};
use time::OffsetDateTime;
use uuid::Uuid;

use super::*;

fn event(position: u64) -> RecordedEvent {
    RecordedEvent {
        id: Uuid::new_v4(),
        stream: StreamName::parse(format!("order-{position}")).unwrap(),
        revision: 0,
        position: Position::new(position),
        event_type: "OrderCreated".into(),
        schema_version: 1,
        data: serde_json::json!({ "n": position }),
        metadata: EventMetadata {
            correlation_id: Uuid::new_v4(),
            causation_id: Uuid::new_v4(),
            user_id: Some("alice".into()),
            occurred_at: OffsetDateTime::UNIX_EPOCH,
            trace: TraceContext::none(),
        },
    }
}

fn events(positions: std::ops::RangeInclusive<u64>) -> Vec<RecordedEvent> {
    positions.map(event).collect()
}

fn positions(read: Option<Vec<RecordedEvent>>) -> Option<Vec<u64>> {
    read.map(|events| events.iter().map(|e| e.position.value()).collect())
}

#[test]
fn answers_from_the_event_after_the_given_position_up_to_the_limit() {
    let recent = RecentEvents::new(16);
    recent.extend(events(1..=3));
    recent.extend(events(4..=6));
    assert_eq!(
        positions(recent.read_after(Position::new(0), 100)),
        Some(vec![1, 2, 3, 4, 5, 6])
    );
    assert_eq!(
        positions(recent.read_after(Position::new(2), 3)),
        Some(vec![3, 4, 5])
    );
    assert_eq!(
        positions(recent.read_after(Position::new(5), 100)),
        Some(vec![6])
    );
}

#[test]
fn what_it_does_not_hold_is_left_to_the_file() {
    let recent = RecentEvents::new(4);
    assert_eq!(positions(recent.read_after(Position::new(0), 10)), None);
    recent.extend(events(1..=6)); // holds 3..=6
    assert_eq!(
        positions(recent.read_after(Position::new(1), 10)),
        None,
        "older than the run"
    );
    assert_eq!(
        positions(recent.read_after(Position::new(2), 10)),
        Some(vec![3, 4, 5, 6])
    );
    assert_eq!(
        positions(recent.read_after(Position::new(6), 10)),
        None,
        "at the head: the file may have what was committed since"
    );
    assert_eq!(positions(recent.read_after(Position::new(2), 0)), None);
}

#[test]
fn a_batch_that_does_not_continue_the_run_replaces_it() {
    let recent = RecentEvents::new(16);
    recent.extend(events(1..=3));
    recent.extend(events(7..=8));
    assert_eq!(positions(recent.read_after(Position::new(0), 10)), None);
    assert_eq!(
        positions(recent.read_after(Position::new(6), 10)),
        Some(vec![7, 8])
    );
}

#[test]
fn a_batch_with_a_gap_empties_the_run() {
    let recent = RecentEvents::new(16);
    recent.extend(events(1..=3));
    recent.extend(vec![event(4), event(6)]);
    assert_eq!(positions(recent.read_after(Position::new(0), 10)), None);
    assert_eq!(positions(recent.read_after(Position::new(3), 10)), None);
}

#[test]
fn the_copies_are_the_events_added() {
    let recent = RecentEvents::new(16);
    let added = events(1..=2);
    recent.extend(added.clone());
    assert_eq!(recent.read_after(Position::new(0), 10), Some(added));
}

#[test]
fn with_no_capacity_nothing_is_held() {
    let recent = RecentEvents::new(0);
    recent.extend(events(1..=3));
    assert_eq!(positions(recent.read_after(Position::new(0), 10)), None);
}
