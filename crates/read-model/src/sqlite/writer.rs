//! The single writer of a SQLite read model, doing group commit.
//!
//! SQLite allows one writer at a time, so one thread owns the write
//! connection. It takes every change queued while the previous transaction
//! was committing and writes them all in one transaction: one commit and one
//! fsync for the batch. Each change runs in a savepoint of its own, so a
//! change that fails is rolled back alone and answered with its error while
//! the others commit. Answers are sent only after the commit is durable.

use orderflow_app::ports::ReadModelError;
use rusqlite::{Connection, TransactionBehavior, params};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use super::port_error;
use crate::stored::PENDING;

/// Most changes written in one transaction.
const MAX_BATCH: usize = 512;

/// A change, already in its stored form.
#[derive(Debug)]
pub(crate) enum Write {
    /// Fill the order's details; a new row starts `pending` at revision 0.
    Created {
        id: Uuid,
        buyer_id: String,
        currency: String,
        items: String,
        total: String,
        created_at: i64,
    },
    /// Set the status when `revision` is above the stored one.
    Status {
        id: Uuid,
        status: String,
        cancellation_reason: Option<String>,
        revision: i64,
        at: i64,
    },
}

/// A change and where its outcome goes.
#[derive(Debug)]
pub(crate) struct Command {
    pub(crate) write: Write,
    pub(crate) reply: oneshot::Sender<Result<(), ReadModelError>>,
}

/// Inserts the order, or fills the details of a row that has none (a status
/// arrived first). Status, revision and `updated_at` of an existing row are
/// never touched.
const RECORD_CREATED: &str = "\
INSERT INTO gateway_orders
    (id, buyer_id, currency, items, total, created_at, status, cancellation_reason, revision,
     updated_at)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, NULL, 0, ?6)
ON CONFLICT (id) DO UPDATE SET
    buyer_id = excluded.buyer_id,
    currency = excluded.currency,
    items = excluded.items,
    total = excluded.total,
    created_at = excluded.created_at
WHERE gateway_orders.created_at IS NULL";

/// Sets the status when the change is newer than the row; a row that does not
/// exist yet is created without details.
const RECORD_STATUS: &str = "\
INSERT INTO gateway_orders (id, status, cancellation_reason, revision, updated_at)
VALUES (?1, ?2, ?3, ?4, ?5)
ON CONFLICT (id) DO UPDATE SET
    status = excluded.status,
    cancellation_reason = excluded.cancellation_reason,
    revision = excluded.revision,
    updated_at = excluded.updated_at
WHERE gateway_orders.revision < excluded.revision";

/// Starts the writer thread; it ends when every sender is dropped.
pub(crate) fn spawn(connection: Connection) -> std::io::Result<mpsc::Sender<Command>> {
    let (sender, receiver) = mpsc::channel(4 * MAX_BATCH);
    std::thread::Builder::new()
        .name("sqlite-read-model-writer".into())
        .spawn(move || run(connection, receiver))?;
    Ok(sender)
}

fn run(mut connection: Connection, mut commands: mpsc::Receiver<Command>) {
    while let Some(batch) = orderflow_sqlite::next_batch(&mut commands, MAX_BATCH) {
        match write_batch(&mut connection, &batch) {
            Ok(outcomes) => {
                for (command, outcome) in batch.into_iter().zip(outcomes) {
                    let _ = command.reply.send(outcome);
                }
            }
            Err(error) => {
                tracing::error!(%error, changes = batch.len(), "read model batch failed");
                let error = port_error(error);
                for command in batch {
                    let _ = command.reply.send(Err(clone_error(&error)));
                }
            }
        }
    }
}

fn clone_error(error: &ReadModelError) -> ReadModelError {
    match error {
        ReadModelError::Unavailable(reason) => {
            ReadModelError::Unavailable(reason.to_string().into())
        }
        ReadModelError::Internal(reason) => ReadModelError::Internal(reason.to_string().into()),
    }
}

/// Writes the batch in one transaction; the outer error means nothing was
/// committed, an inner one that this change alone was rolled back.
fn write_batch(
    connection: &mut Connection,
    batch: &[Command],
) -> rusqlite::Result<Vec<Result<(), ReadModelError>>> {
    let mut transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut outcomes = Vec::with_capacity(batch.len());
    for command in batch {
        let savepoint = transaction.savepoint()?;
        match apply(&savepoint, &command.write) {
            Ok(()) => {
                savepoint.commit()?;
                outcomes.push(Ok(()));
            }
            Err(error) => {
                // Dropping the savepoint rolls this change back.
                drop(savepoint);
                tracing::warn!(%error, "read model change failed");
                outcomes.push(Err(port_error(error)));
            }
        }
    }
    transaction.commit()?;
    Ok(outcomes)
}

fn apply(connection: &Connection, write: &Write) -> rusqlite::Result<()> {
    match write {
        Write::Created {
            id,
            buyer_id,
            currency,
            items,
            total,
            created_at,
        } => {
            connection.prepare_cached(RECORD_CREATED)?.execute(params![
                id.as_bytes(),
                buyer_id,
                currency,
                items,
                total,
                created_at,
                PENDING,
            ])?;
        }
        Write::Status {
            id,
            status,
            cancellation_reason,
            revision,
            at,
        } => {
            connection.prepare_cached(RECORD_STATUS)?.execute(params![
                id.as_bytes(),
                status,
                cancellation_reason,
                revision,
                at,
            ])?;
        }
    }
    Ok(())
}
