//! Group-commit writers of the PostgreSQL event store.
//!
//! Each writer task takes every append queued while it was busy and writes
//! them in one transaction: streams locked in name order, revisions and ids
//! checked ([`crate::batch`]), stream revisions updated, and last — holding
//! the global position row lock until commit — positions taken and events
//! inserted. A transaction that loses a race with another instance (a stream
//! created concurrently, a deadlock, a duplicate id) is rolled back and the
//! whole batch is planned again; no append is answered before its commit.

use std::collections::HashMap;
use std::sync::Arc;

use orderflow_app::ports::{AppendOutcome, EventStoreError, Position, StreamName};
use sqlx::postgres::PgPool;
use sqlx::{Postgres, Row, Transaction};
use time::OffsetDateTime;
use tokio::sync::{Mutex, mpsc};
use uuid::Uuid;

use super::{NOTIFY_CHANNEL, PostgresOptions, to_i64, unavailable};
use crate::batch::{self, AppendRequest, PlannedPosition, StoredEventRef};

/// Tries of one batch that keeps losing races before its appends fail.
const MAX_ATTEMPTS: usize = 8;

/// Starts `options.writers` writer tasks sharing one queue; they stop when
/// every sender is dropped.
pub(crate) fn spawn(pool: PgPool, options: &PostgresOptions) -> mpsc::Sender<AppendRequest> {
    let (sender, receiver) = mpsc::channel(options.max_batch.max(1) * 4);
    let receiver = Arc::new(Mutex::new(receiver));
    for _ in 0..options.writers.max(1) {
        tokio::spawn(run(
            pool.clone(),
            Arc::clone(&receiver),
            options.max_batch.max(1),
        ));
    }
    sender
}

async fn run(pool: PgPool, queue: Arc<Mutex<mpsc::Receiver<AppendRequest>>>, max_batch: usize) {
    loop {
        let mut requests = Vec::new();
        {
            let mut queue = queue.lock().await;
            if queue.recv_many(&mut requests, max_batch).await == 0 {
                return;
            }
            // Let appenders woken by the previous commit queue up behind the
            // first one, so that they share this transaction.
            tokio::task::yield_now().await;
            let room = max_batch.saturating_sub(requests.len());
            if room > 0 && !queue.is_empty() {
                queue.recv_many(&mut requests, room).await;
            }
        }
        let outcomes = write_with_retries(&pool, &requests).await;
        for (request, outcome) in requests.into_iter().zip(outcomes) {
            let _ = request.reply.send(outcome);
        }
    }
}

async fn write_with_retries(
    pool: &PgPool,
    requests: &[AppendRequest],
) -> Vec<Result<AppendOutcome, EventStoreError>> {
    let mut attempt = 1;
    loop {
        match write_batch(pool, requests).await {
            Ok(Some(outcomes)) => return outcomes,
            Ok(None) if attempt < MAX_ATTEMPTS => {
                tracing::debug!(
                    attempt,
                    "a stream was created concurrently, replanning the batch"
                );
            }
            Err(error) if attempt < MAX_ATTEMPTS && is_lost_race(&error) => {
                tracing::debug!(attempt, %error, "append batch lost a race, replanning");
            }
            Ok(None) => {
                return fail_all(requests, "kept losing races creating streams");
            }
            Err(error) => {
                tracing::error!(%error, "append batch failed");
                return fail_all(requests, &error.to_string());
            }
        }
        attempt += 1;
    }
}

fn fail_all(
    requests: &[AppendRequest],
    reason: &str,
) -> Vec<Result<AppendOutcome, EventStoreError>> {
    requests.iter().map(|_| Err(unavailable(reason))).collect()
}

/// Deadlock, serialization failure or unique violation: planning again
/// from fresh reads resolves it.
fn is_lost_race(error: &sqlx::Error) -> bool {
    let Some(database_error) = error.as_database_error() else {
        return false;
    };
    matches!(
        database_error.code().as_deref(),
        Some("40001" | "40P01" | "23505")
    )
}

/// Writes one batch. `Ok(None)` means a stream this batch creates was
/// created concurrently by another transaction: nothing was written.
///
/// Three statements besides BEGIN and COMMIT: look up (and lock), write the
/// streams, take positions and insert the events.
async fn write_batch(
    pool: &PgPool,
    requests: &[AppendRequest],
) -> Result<Option<Vec<Result<AppendOutcome, EventStoreError>>>, sqlx::Error> {
    let mut transaction = pool.begin().await?;
    let (revisions, stored) = lock_and_look_up(&mut transaction, requests).await?;
    let plan = batch::plan(requests, &revisions, &stored);

    if plan.event_count == 0 {
        transaction.rollback().await?;
        let nothing_written = Position::START;
        return Ok(Some(
            plan.outcomes
                .into_iter()
                .map(|o| o.resolve(nothing_written))
                .collect(),
        ));
    }

    let (existing, created): (Vec<_>, Vec<_>) = plan
        .stream_revisions
        .iter()
        .partition(|(stream, _)| revisions.contains_key(**stream));
    let (existing_names, existing_revisions) = columns(&existing);
    let (created_names, created_revisions) = columns(&created);
    let inserted: i64 = sqlx::query_scalar(
        "WITH updated AS ( \
             UPDATE es_streams s SET revision = u.revision \
             FROM UNNEST($1::text[], $2::bigint[]) AS u(name, revision) \
             WHERE s.name = u.name RETURNING 1 \
         ), created AS ( \
             INSERT INTO es_streams (name, revision) \
             SELECT * FROM UNNEST($3::text[], $4::bigint[]) \
             ON CONFLICT (name) DO NOTHING RETURNING 1 \
         ) \
         SELECT count(*) FROM created",
    )
    .bind(&existing_names)
    .bind(&existing_revisions)
    .bind(&created_names)
    .bind(&created_revisions)
    .fetch_one(&mut *transaction)
    .await?;
    if inserted != created.len() as i64 {
        transaction.rollback().await?;
        return Ok(None);
    }

    let base = insert_events(&mut transaction, &plan).await?;
    transaction.commit().await?;
    plan.sizes(requests.len()).record();
    Ok(Some(
        plan.outcomes.into_iter().map(|o| o.resolve(base)).collect(),
    ))
}

fn columns(revisions: &[(&&StreamName, &u64)]) -> (Vec<String>, Vec<i64>) {
    revisions
        .iter()
        .map(|(stream, revision)| (stream.as_str().to_owned(), to_i64(**revision)))
        .unzip()
}

/// In one statement: locks the batch's existing streams in name order and
/// reads their revisions, and finds the batch's event ids already stored.
async fn lock_and_look_up(
    transaction: &mut Transaction<'_, Postgres>,
    requests: &[AppendRequest],
) -> Result<(HashMap<StreamName, u64>, HashMap<Uuid, StoredEventRef>), sqlx::Error> {
    let mut names: Vec<&str> = requests.iter().map(|r| r.stream.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    let ids: Vec<Uuid> = requests
        .iter()
        .flat_map(|r| r.events.iter().map(|e| e.id))
        .collect();
    let rows = sqlx::query(
        "WITH locked AS ( \
             SELECT name, revision FROM es_streams WHERE name = ANY($1) ORDER BY name FOR UPDATE \
         ) \
         SELECT name, revision, NULL::uuid, NULL::bigint FROM locked \
         UNION ALL \
         SELECT stream, revision, event_id, position FROM es_events WHERE event_id = ANY($2)",
    )
    .bind(&names)
    .bind(&ids)
    .fetch_all(&mut **transaction)
    .await?;
    let mut revisions = HashMap::new();
    let mut stored = HashMap::new();
    for row in rows {
        let stream: String = row.try_get(0)?;
        let revision: i64 = row.try_get(1)?;
        let event_id: Option<Uuid> = row.try_get(2)?;
        let position: Option<i64> = row.try_get(3)?;
        let (Ok(stream), Ok(revision)) = (StreamName::parse(stream), u64::try_from(revision))
        else {
            continue;
        };
        match (event_id, position.and_then(|p| u64::try_from(p).ok())) {
            (Some(id), Some(position)) => {
                stored.insert(
                    id,
                    StoredEventRef {
                        stream,
                        revision,
                        position: PlannedPosition::Committed(Position::new(position)),
                    },
                );
            }
            _ => {
                revisions.insert(stream, revision);
            }
        }
    }
    Ok((revisions, stored))
}

/// Takes the batch's positions from the global counter, inserts its events
/// and queues the notification (PostgreSQL sends it at commit).
/// Returns the base position: the batch's events follow it.
async fn insert_events(
    transaction: &mut Transaction<'_, Postgres>,
    plan: &batch::BatchPlan<'_>,
) -> Result<Position, sqlx::Error> {
    let capacity = plan.event_count as usize;
    let mut offsets = Vec::with_capacity(capacity);
    let mut event_ids = Vec::with_capacity(capacity);
    let mut streams = Vec::with_capacity(capacity);
    let mut revisions = Vec::with_capacity(capacity);
    let mut event_types = Vec::with_capacity(capacity);
    let mut schema_versions = Vec::with_capacity(capacity);
    let mut data = Vec::with_capacity(capacity);
    let mut correlation_ids = Vec::with_capacity(capacity);
    let mut causation_ids = Vec::with_capacity(capacity);
    let mut user_ids = Vec::with_capacity(capacity);
    let mut occurred_ats: Vec<OffsetDateTime> = Vec::with_capacity(capacity);
    let mut traceparents = Vec::with_capacity(capacity);
    let mut tracestates = Vec::with_capacity(capacity);
    for write in &plan.writes {
        for (index, event) in write.events.iter().enumerate() {
            let index = index as u64;
            offsets.push(to_i64(write.first_offset + index));
            event_ids.push(event.id);
            streams.push(write.stream.as_str());
            revisions.push(to_i64(write.first_revision + index));
            event_types.push(event.event_type.as_str());
            schema_versions.push(i16::try_from(event.schema_version).unwrap_or(i16::MAX));
            data.push(event.data.to_string());
            correlation_ids.push(event.metadata.correlation_id);
            causation_ids.push(event.metadata.causation_id);
            user_ids.push(event.metadata.user_id.as_deref());
            occurred_ats.push(event.metadata.occurred_at);
            traceparents.push(event.metadata.trace.traceparent());
            tracestates.push(event.metadata.trace.tracestate());
        }
    }
    let count = to_i64(plan.event_count);
    let base: i64 = sqlx::query_scalar(
        "WITH counter AS ( \
             UPDATE es_global_position SET last = last + $1 RETURNING last - $1 AS base \
         ), inserted AS ( \
             INSERT INTO es_events (position, event_id, stream, revision, event_type, \
                 schema_version, data, correlation_id, causation_id, user_id, occurred_at, \
                 traceparent, tracestate) \
             SELECT (SELECT base FROM counter) + e.offset_in_batch, e.event_id, e.stream, \
                 e.revision, e.event_type, e.schema_version, e.data::json, e.correlation_id, \
                 e.causation_id, e.user_id, e.occurred_at, e.traceparent, e.tracestate \
             FROM UNNEST($2::bigint[], $3::uuid[], $4::text[], $5::bigint[], $6::text[], \
                 $7::smallint[], $8::text[], $9::uuid[], $10::uuid[], $11::text[], \
                 $12::timestamptz[], $14::text[], $15::text[]) \
                 AS e(offset_in_batch, event_id, stream, revision, event_type, schema_version, \
                 data, correlation_id, causation_id, user_id, occurred_at, traceparent, \
                 tracestate) \
         ), notified AS ( \
             SELECT pg_notify($13, ((SELECT base FROM counter) + $1)::text) \
         ) \
         SELECT base FROM counter, notified",
    )
    .bind(count)
    .bind(&offsets)
    .bind(&event_ids)
    .bind(&streams)
    .bind(&revisions)
    .bind(&event_types)
    .bind(&schema_versions)
    .bind(&data)
    .bind(&correlation_ids)
    .bind(&causation_ids)
    .bind(&user_ids)
    .bind(&occurred_ats)
    .bind(NOTIFY_CHANNEL)
    .bind(&traceparents)
    .bind(&tracestates)
    .fetch_one(&mut **transaction)
    .await?;
    Ok(Position::new(u64::try_from(base).unwrap_or(0)))
}
