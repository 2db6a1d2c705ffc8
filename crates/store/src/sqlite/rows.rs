//! Mapping between SQLite rows and [`RecordedEvent`]s.
//!
//! Ids are 16-byte blobs, timestamps Unix nanoseconds, event bodies JSON text.
//! A row that does not decode is reported as corrupt, never guessed at.

use orderflow_app::TraceContext;
use orderflow_app::ports::{EventMetadata, EventStoreError, Position, RecordedEvent, StreamName};
use rusqlite::Row;
use time::OffsetDateTime;
use uuid::Uuid;

/// Columns in the order [`recorded_event`] reads them.
pub(crate) const EVENT_COLUMNS: &str = "position, event_id, stream, revision, event_type, \
     schema_version, data, correlation_id, causation_id, user_id, occurred_at, traceparent, tracestate";

/// A row that could not be turned into an event.
#[derive(Debug)]
pub(crate) enum RowError {
    Sqlite(rusqlite::Error),
    Corrupt(String),
}

impl From<rusqlite::Error> for RowError {
    fn from(error: rusqlite::Error) -> Self {
        RowError::Sqlite(error)
    }
}

impl From<RowError> for EventStoreError {
    fn from(error: RowError) -> Self {
        match error {
            RowError::Sqlite(error) => super::unavailable(error),
            RowError::Corrupt(reason) => EventStoreError::Corrupt(reason.into()),
        }
    }
}

pub(crate) fn recorded_event(row: &Row<'_>) -> Result<RecordedEvent, RowError> {
    let position: i64 = row.get(0)?;
    let stream: String = row.get(2)?;
    let revision: i64 = row.get(3)?;
    let data: String = row.get(6)?;
    let occurred_at: i64 = row.get(10)?;
    let corrupt = |what: &str| RowError::Corrupt(format!("event at position {position}: {what}"));
    Ok(RecordedEvent {
        id: uuid(row, 1).map_err(|_| corrupt("bad event id"))?,
        stream: StreamName::parse(stream).map_err(|_| corrupt("bad stream name"))?,
        revision: u64::try_from(revision).map_err(|_| corrupt("negative revision"))?,
        position: Position::new(u64::try_from(position).map_err(|_| corrupt("bad position"))?),
        event_type: row.get(4)?,
        schema_version: row.get(5)?,
        data: serde_json::from_str(&data).map_err(|_| corrupt("body is not JSON"))?,
        metadata: EventMetadata {
            correlation_id: uuid(row, 7).map_err(|_| corrupt("bad correlation id"))?,
            causation_id: uuid(row, 8).map_err(|_| corrupt("bad causation id"))?,
            user_id: row.get(9)?,
            occurred_at: OffsetDateTime::from_unix_timestamp_nanos(i128::from(occurred_at))
                .map_err(|_| corrupt("bad timestamp"))?,
            trace: TraceContext::from_stored(row.get(11)?, row.get(12)?),
        },
    })
}

fn uuid(row: &Row<'_>, index: usize) -> Result<Uuid, RowError> {
    let bytes: [u8; 16] = row.get(index)?;
    Ok(Uuid::from_bytes(bytes))
}

/// Unix nanoseconds, saturated to what an `i64` holds (years 1677 to 2262).
pub(crate) fn unix_nanos(at: OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos()).unwrap_or(if at.year() < 1970 {
        i64::MIN
    } else {
        i64::MAX
    })
}
