//! A subscription that follows the head reads what was just committed without the file.
#![allow(clippy::unwrap_used)]

use orderflow_app::TraceContext;
use orderflow_app::ports::{EventMetadata, EventStore, ExpectedRevision, NewEvent, Position};
use time::OffsetDateTime;
use uuid::Uuid;

use super::*;

fn event() -> NewEvent {
    NewEvent {
        id: Uuid::new_v4(),
        event_type: "OrderCreated".into(),
        schema_version: 1,
        data: serde_json::json!({ "total": "25.00" }),
        metadata: EventMetadata {
            correlation_id: Uuid::new_v4(),
            causation_id: Uuid::new_v4(),
            user_id: Some("alice".into()),
            occurred_at: OffsetDateTime::now_utc(),
            trace: TraceContext::none(),
        },
    }
}

#[tokio::test]
async fn events_just_committed_are_read_without_the_file() {
    let scratch = orderflow_testkit::ScratchPath::new("events.sqlite");
    let store = SqliteEventStore::open(scratch.path()).await.unwrap();
    let order = StreamName::parse(format!("order-{}", Uuid::new_v4())).unwrap();
    store
        .append(&order, ExpectedRevision::NoStream, vec![event(), event()])
        .await
        .unwrap();
    // No read connection is open yet, and none can be opened now: reads of the file fail.
    let moved = scratch.path().with_extension("moved");
    std::fs::rename(scratch.path(), &moved).unwrap();
    assert!(
        store.read_stream(&order, 0, 10).await.is_err(),
        "the file is out of reach"
    );

    let followed = store.read_all(Position::START, 100).await.unwrap();
    let positions: Vec<u64> = followed.iter().map(|e| e.position.value()).collect();
    assert_eq!(positions, [1, 2]);
    assert!(followed.iter().all(|e| e.stream == order));
    std::fs::rename(&moved, scratch.path()).unwrap();
}
