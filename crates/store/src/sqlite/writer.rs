//! The single writer of a SQLite event store, doing group commit.
//!
//! SQLite allows one writer at a time, so one thread owns the write
//! connection. It takes every command queued while the previous transaction
//! was committing and writes them all in one transaction: one commit and one
//! fsync (`synchronous = FULL`) for the whole batch, which is what makes
//! thousands of durable appends a second possible. Each command still gets its
//! own answer (see [`crate::batch`]); the head notification is sent only after
//! the commit is durable, and after the batch's events were left in
//! [`RecentEvents`] for the subscriptions that follow the head.

use std::collections::HashMap;
use std::sync::Arc;

use orderflow_app::TraceContext;
use orderflow_app::ports::{
    AppendOutcome, EventMetadata, EventStoreError, NewEvent, Position, RecordedEvent, StreamName,
};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use time::OffsetDateTime;
use tokio::sync::{mpsc, oneshot, watch};
use uuid::Uuid;

use super::recent::RecentEvents;
use super::rows::unix_nanos;
use super::unavailable;
use crate::batch::{self, AppendRequest, PlannedPosition, StoredEventRef};

/// Most commands written in one transaction.
const MAX_BATCH: usize = 512;

/// Work for the writer thread.
#[derive(Debug)]
pub(crate) enum WriterCommand {
    Append(AppendRequest),
    SaveCheckpoint {
        name: String,
        position: Position,
        reply: oneshot::Sender<Result<(), EventStoreError>>,
    },
}

/// Starts the writer thread; it ends when every sender is dropped.
pub(crate) fn spawn(
    connection: Connection,
    head: watch::Sender<Position>,
    recent: Arc<RecentEvents>,
) -> std::io::Result<mpsc::Sender<WriterCommand>> {
    let (sender, receiver) = mpsc::channel(4 * MAX_BATCH);
    std::thread::Builder::new()
        .name("sqlite-event-writer".into())
        .spawn(move || run(connection, receiver, head, &recent))?;
    Ok(sender)
}

fn run(
    mut connection: Connection,
    mut commands: mpsc::Receiver<WriterCommand>,
    head: watch::Sender<Position>,
    recent: &RecentEvents,
) {
    while let Some(first) = commands.blocking_recv() {
        let mut appends = Vec::new();
        let mut checkpoints = Vec::new();
        let mut next = Some(first);
        while let Some(command) = next.take() {
            match command {
                WriterCommand::Append(request) => appends.push(request),
                WriterCommand::SaveCheckpoint {
                    name,
                    position,
                    reply,
                } => checkpoints.push((name, position, reply)),
            }
            if appends.len() + checkpoints.len() < MAX_BATCH {
                next = commands.try_recv().ok();
            }
        }

        let checkpoint_values: Vec<(&str, Position)> = checkpoints
            .iter()
            .map(|(n, p, _)| (n.as_str(), *p))
            .collect();
        match write_batch(&mut connection, &appends, &checkpoint_values) {
            Ok((outcomes, new_head)) => {
                let mut committed = Vec::new();
                let mut replies = Vec::with_capacity(appends.len());
                for (request, outcome) in appends.into_iter().zip(outcomes) {
                    if let Ok(written) = &outcome
                        && !written.deduplicated
                    {
                        committed.extend(as_recorded(request.stream, request.events, written));
                    }
                    replies.push((request.reply, outcome));
                }
                committed.sort_by_key(|event| event.position);
                recent.extend(committed);
                head.send_if_modified(|current| {
                    let moved = *current != new_head;
                    *current = new_head;
                    moved
                });
                for (reply, outcome) in replies {
                    let _ = reply.send(outcome);
                }
                for (_, _, reply) in checkpoints {
                    let _ = reply.send(Ok(()));
                }
            }
            Err(error) => {
                tracing::error!(%error, "event store batch failed");
                for request in appends {
                    let _ = request.reply.send(Err(unavailable(error.to_string())));
                }
                for (_, _, reply) in checkpoints {
                    let _ = reply.send(Err(unavailable(error.to_string())));
                }
            }
        }
    }
}

/// A written append's events as a read of the file returns them: the positions and
/// revisions its outcome ends at, the time and trace context as stored.
fn as_recorded(
    stream: StreamName,
    events: Vec<NewEvent>,
    written: &AppendOutcome,
) -> Vec<RecordedEvent> {
    let count = events.len() as u64;
    let first_position = written.last_position.value() + 1 - count;
    let first_revision = written.last_revision + 1 - count;
    events
        .into_iter()
        .zip(0..)
        .map(|(event, offset)| {
            let metadata = event.metadata;
            RecordedEvent {
                id: event.id,
                stream: stream.clone(),
                revision: first_revision + offset,
                position: Position::new(first_position + offset),
                event_type: event.event_type,
                schema_version: event.schema_version,
                data: event.data,
                metadata: EventMetadata {
                    correlation_id: metadata.correlation_id,
                    causation_id: metadata.causation_id,
                    user_id: metadata.user_id,
                    occurred_at: OffsetDateTime::from_unix_timestamp_nanos(i128::from(unix_nanos(
                        metadata.occurred_at,
                    )))
                    .unwrap_or(metadata.occurred_at),
                    trace: TraceContext::from_stored(
                        metadata.trace.traceparent().map(str::to_owned),
                        metadata.trace.tracestate().map(str::to_owned),
                    ),
                },
            }
        })
        .collect()
}

type BatchResult = (Vec<Result<AppendOutcome, EventStoreError>>, Position);

fn write_batch(
    connection: &mut Connection,
    appends: &[AppendRequest],
    checkpoints: &[(&str, Position)],
) -> rusqlite::Result<BatchResult> {
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let (revisions, stored) = lookup(&transaction, appends)?;
    let plan = batch::plan(appends, &revisions, &stored);
    let base: i64 =
        transaction.query_row("SELECT COALESCE(MAX(position), 0) FROM events", [], |row| {
            row.get(0)
        })?;
    {
        let mut insert = transaction.prepare_cached(
            "INSERT INTO events (position, event_id, stream, revision, event_type, schema_version, \
             data, correlation_id, causation_id, user_id, occurred_at, traceparent, tracestate) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        )?;
        for write in &plan.writes {
            for (index, event) in write.events.iter().enumerate() {
                let index = index as u64;
                insert.execute(params![
                    base as u64 + write.first_offset + index,
                    event.id.as_bytes(),
                    write.stream.as_str(),
                    write.first_revision + index,
                    event.event_type,
                    event.schema_version,
                    event.data.to_string(),
                    event.metadata.correlation_id.as_bytes(),
                    event.metadata.causation_id.as_bytes(),
                    event.metadata.user_id,
                    unix_nanos(event.metadata.occurred_at),
                    event.metadata.trace.traceparent(),
                    event.metadata.trace.tracestate(),
                ])?;
            }
        }
        let mut upsert_stream = transaction.prepare_cached(
            "INSERT INTO streams (name, revision) VALUES (?1, ?2) \
             ON CONFLICT (name) DO UPDATE SET revision = excluded.revision",
        )?;
        for (stream, revision) in &plan.stream_revisions {
            upsert_stream.execute(params![stream.as_str(), revision])?;
        }
        let mut upsert_checkpoint = transaction.prepare_cached(
            "INSERT INTO checkpoints (name, position) VALUES (?1, ?2) \
             ON CONFLICT (name) DO UPDATE SET position = excluded.position",
        )?;
        for (name, position) in checkpoints {
            upsert_checkpoint.execute(params![name, position.value()])?;
        }
    }
    let event_count = plan.event_count;
    let sizes = plan.sizes(appends.len());
    let base = Position::new(base as u64);
    let outcomes = plan.outcomes.into_iter().map(|o| o.resolve(base)).collect();
    transaction.commit()?;
    sizes.record();
    Ok((outcomes, Position::new(base.value() + event_count)))
}

type Lookups = (HashMap<StreamName, u64>, HashMap<Uuid, StoredEventRef>);

/// Committed revisions of the batch's streams and the batch's already stored ids.
fn lookup(transaction: &Connection, appends: &[AppendRequest]) -> rusqlite::Result<Lookups> {
    let mut revisions = HashMap::new();
    let mut stored = HashMap::new();
    let mut stream_revision =
        transaction.prepare_cached("SELECT revision FROM streams WHERE name = ?1")?;
    let mut event_by_id = transaction
        .prepare_cached("SELECT stream, revision, position FROM events WHERE event_id = ?1")?;
    for request in appends {
        if !revisions.contains_key(&request.stream) {
            let revision: Option<u64> = stream_revision
                .query_row([request.stream.as_str()], |row| row.get(0))
                .optional()?;
            if let Some(revision) = revision {
                revisions.insert(request.stream.clone(), revision);
            }
        }
        for event in &request.events {
            let found = event_by_id
                .query_row([event.id.as_bytes()], |row| {
                    Ok((
                        row.get::<_, String>(0)?,
                        row.get::<_, u64>(1)?,
                        row.get::<_, u64>(2)?,
                    ))
                })
                .optional()?;
            if let Some((stream, revision, position)) = found {
                // A stream name that no longer parses cannot match this append's.
                if let Ok(stream) = StreamName::parse(stream) {
                    stored.insert(
                        event.id,
                        StoredEventRef {
                            stream,
                            revision,
                            position: PlannedPosition::Committed(Position::new(position)),
                        },
                    );
                }
            }
        }
    }
    Ok((revisions, stored))
}
