//! The single writer of a SQLite inbox, doing group commit.
//!
//! One thread owns the write connection and writes every command queued while the previous
//! transaction was committing in one transaction: one commit for the batch. A batch that
//! records a push is fsynced before it is answered (`synchronous = FULL`); a batch of only
//! acknowledgements and prunes is committed without waiting for the disk (`NORMAL`): in WAL
//! mode it is still atomic and in order, and the next fsynced commit (or checkpoint) makes it
//! durable too, so a crash can lose only acknowledgements — pushes delivered again — or a
//! prune done again. When the transaction fails, every command of the batch is answered with
//! the error (each is idempotent: retrying is safe).

use std::collections::HashMap;

use orderflow_app::ports::{InboxError, InboxPush, Recorded};
use rusqlite::{Connection, TransactionBehavior, params};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use super::port_error;
use crate::stored::{ACKNOWLEDGED, DROPPED, PENDING, distinct};

/// Most commands written in one transaction.
const MAX_BATCH: usize = 256;

const RECORD: &str = "\
INSERT INTO push_inbox (user_id, message_id, argument, recorded_at) VALUES (?1, ?2, ?3, ?4)
ON CONFLICT (user_id, message_id) DO NOTHING";

/// Drops the user's pending entries older than their `?2` newest. `state = 0` is
/// [`PENDING`](crate::stored::PENDING) written out, so the planner can use the partial index
/// `push_inbox_pending` (a bound parameter cannot imply its `WHERE state = 0`, and then every
/// entry the user ever had is scanned, once per batch).
pub(crate) const DROP_OVER_COUNT: &str = "\
UPDATE push_inbox SET state = ?3 WHERE user_id = ?1 AND state = 0 AND seq <= (
    SELECT seq FROM push_inbox WHERE user_id = ?1 AND state = 0
    ORDER BY seq DESC LIMIT 1 OFFSET ?2)";

const ACKNOWLEDGE: &str = "\
UPDATE push_inbox SET state = ?3 WHERE user_id = ?1 AND message_id = ?2 AND state = 0";

/// A write, with what the async side read from the clock.
#[derive(Debug)]
pub(crate) enum Write {
    Record {
        pushes: Vec<InboxPush>,
        recorded_at: i64,
        max_per_user: u32,
    },
    Acknowledge {
        user_id: String,
        message_ids: Vec<Uuid>,
    },
    /// Deletes at most `limit` entries recorded at or before `cutoff`.
    Prune { cutoff: i64, limit: u32 },
}

/// What a write did.
#[derive(Debug)]
pub(crate) enum Outcome {
    Recorded(Recorded),
    Acknowledged,
    Pruned(PrunedChunk),
}

/// What one prune chunk deleted.
#[derive(Debug)]
pub(crate) struct PrunedChunk {
    /// Entries deleted, pending or not.
    pub(crate) deleted: u64,
    /// Of those, pending ones.
    pub(crate) dropped_by_age: u64,
}

/// A write and where its outcome goes.
#[derive(Debug)]
pub(crate) struct Command {
    pub(crate) write: Write,
    pub(crate) reply: oneshot::Sender<Result<Outcome, InboxError>>,
}

/// Starts the writer thread; it ends when every sender is dropped.
pub(crate) fn spawn(connection: Connection) -> std::io::Result<mpsc::Sender<Command>> {
    let (sender, receiver) = mpsc::channel(4 * MAX_BATCH);
    std::thread::Builder::new()
        .name("sqlite-inbox-writer".into())
        .spawn(move || run(connection, receiver))?;
    Ok(sender)
}

fn run(mut connection: Connection, mut commands: mpsc::Receiver<Command>) {
    // `open_migrated_writer` opened it with `synchronous = FULL`.
    let mut synced = true;
    while let Some(batch) = orderflow_sqlite::next_batch(&mut commands, MAX_BATCH) {
        let records = batch
            .iter()
            .any(|command| matches!(command.write, Write::Record { .. }));
        if records != synced {
            let level = if records { "FULL" } else { "NORMAL" };
            if let Err(error) = connection.pragma_update(None, "synchronous", level) {
                tracing::warn!(%error, writes = batch.len(), "push inbox batch failed");
                for command in batch {
                    let _ = command.reply.send(Err(port_error(&error)));
                }
                continue;
            }
            synced = records;
        }
        match write_batch(&mut connection, &batch) {
            Ok(outcomes) => {
                for (command, outcome) in batch.into_iter().zip(outcomes) {
                    let _ = command.reply.send(Ok(outcome));
                }
            }
            Err(error) => {
                tracing::warn!(%error, writes = batch.len(), "push inbox batch failed");
                for command in batch {
                    let _ = command.reply.send(Err(port_error(&error)));
                }
            }
        }
    }
}

fn write_batch(connection: &mut Connection, batch: &[Command]) -> rusqlite::Result<Vec<Outcome>> {
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    // Users whose pending pushes this batch grew, with their bound and the last write
    // that grew them. The bound is enforced once per user per batch, after every write:
    // a user sent a burst costs one trim, not one scan of up to `max_per_user` rows per
    // push, and the bound holds at every commit.
    let mut grown: HashMap<&str, (u32, usize)> = HashMap::new();
    let mut outcomes = Vec::with_capacity(batch.len());
    for (index, command) in batch.iter().enumerate() {
        if let Write::Record {
            pushes,
            max_per_user,
            ..
        } = &command.write
        {
            for push in pushes {
                for user in distinct(&push.user_ids) {
                    grown.insert(user, (*max_per_user, index));
                }
            }
        }
        outcomes.push(apply(&transaction, &command.write)?);
    }
    {
        let mut drop_over = transaction.prepare_cached(DROP_OVER_COUNT)?;
        for (user, (max_per_user, index)) in grown {
            let dropped = drop_over.execute(params![user, max_per_user, DROPPED])?;
            if let Some(Outcome::Recorded(recorded)) = outcomes.get_mut(index) {
                recorded.dropped_by_count += dropped as u64;
            }
        }
    }
    transaction.commit()?;
    Ok(outcomes)
}

fn apply(connection: &Connection, write: &Write) -> rusqlite::Result<Outcome> {
    match write {
        Write::Record {
            pushes,
            recorded_at,
            ..
        } => {
            // The bound is enforced by `write_batch`, once the batch is written.
            let mut insert = connection.prepare_cached(RECORD)?;
            for push in pushes {
                for user in distinct(&push.user_ids) {
                    insert.execute(params![
                        user,
                        push.message_id.as_bytes(),
                        push.argument,
                        recorded_at
                    ])?;
                }
            }
            Ok(Outcome::Recorded(Recorded {
                dropped_by_count: 0,
            }))
        }
        Write::Acknowledge {
            user_id,
            message_ids,
        } => {
            let mut acknowledge = connection.prepare_cached(ACKNOWLEDGE)?;
            for message_id in message_ids {
                acknowledge.execute(params![user_id, message_id.as_bytes(), ACKNOWLEDGED])?;
            }
            Ok(Outcome::Acknowledged)
        }
        Write::Prune { cutoff, limit } => {
            let mut delete = connection.prepare_cached(
                "DELETE FROM push_inbox WHERE seq IN (
                     SELECT seq FROM push_inbox WHERE recorded_at <= ?1 LIMIT ?2)
                 RETURNING state",
            )?;
            let states = delete
                .query_map(params![cutoff, limit], |row| row.get::<_, i64>(0))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(Outcome::Pruned(PrunedChunk {
                deleted: states.len() as u64,
                dropped_by_age: states
                    .iter()
                    .filter(|state| **state == i64::from(PENDING))
                    .count() as u64,
            }))
        }
    }
}
