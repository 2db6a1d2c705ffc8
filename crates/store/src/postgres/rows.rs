//! Mapping between PostgreSQL rows and [`RecordedEvent`]s. A row that does not
//! decode is reported as corrupt, never guessed at.

use orderflow_app::TraceContext;
use orderflow_app::ports::{EventMetadata, EventStoreError, Position, RecordedEvent, StreamName};
use sqlx::Row;
use sqlx::postgres::PgRow;
use time::OffsetDateTime;
use uuid::Uuid;

use super::unavailable;

/// Columns in the order [`recorded_event`] reads them, as a literal for `concat!`.
macro_rules! event_columns {
    () => {
        "position, event_id, stream, revision, event_type, schema_version, data, \
         correlation_id, causation_id, user_id, occurred_at, traceparent, tracestate"
    };
}
pub(crate) use event_columns;

pub(crate) fn recorded_event(row: &PgRow) -> Result<RecordedEvent, EventStoreError> {
    let position: i64 = row.try_get(0).map_err(unavailable)?;
    let corrupt = |what: &str| {
        EventStoreError::Corrupt(format!("event at position {position}: {what}").into())
    };
    let revision: i64 = row.try_get(3).map_err(unavailable)?;
    let schema_version: i16 = row.try_get(5).map_err(unavailable)?;
    let stream: String = row.try_get(2).map_err(unavailable)?;
    Ok(RecordedEvent {
        id: row.try_get::<Uuid, _>(1).map_err(unavailable)?,
        stream: StreamName::parse(stream).map_err(|_| corrupt("bad stream name"))?,
        revision: u64::try_from(revision).map_err(|_| corrupt("negative revision"))?,
        position: Position::new(u64::try_from(position).map_err(|_| corrupt("bad position"))?),
        event_type: row.try_get(4).map_err(unavailable)?,
        schema_version: u16::try_from(schema_version)
            .map_err(|_| corrupt("negative schema version"))?,
        data: row.try_get(6).map_err(unavailable)?,
        metadata: EventMetadata {
            correlation_id: row.try_get(7).map_err(unavailable)?,
            causation_id: row.try_get(8).map_err(unavailable)?,
            user_id: row.try_get(9).map_err(unavailable)?,
            occurred_at: row.try_get::<OffsetDateTime, _>(10).map_err(unavailable)?,
            trace: TraceContext::from_stored(
                row.try_get(11).map_err(unavailable)?,
                row.try_get(12).map_err(unavailable)?,
            ),
        },
    })
}
