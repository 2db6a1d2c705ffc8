//! The SQLite schema of the push inbox and its migrations.
//!
//! The version lives in `push_inbox_schema` (one row), so the inbox never mistakes another
//! component's schema for its own. Pending migrations and the new version are written in
//! one `IMMEDIATE` transaction; a file written by a newer orderflow is refused.

use rusqlite::{Connection, OptionalExtension, TransactionBehavior};

/// Each entry moves the schema version from its index to index + 1.
///
/// `seq` is `AUTOINCREMENT` so that a number is never reused after pruning deleted the
/// newest rows: the order of pending entries is the order of `seq`. Message ids are 16-byte
/// blobs, times Unix microseconds, `state` 0 pending, 1 acknowledged, 2 dropped.
const MIGRATIONS: &[&str] = &[r"
CREATE TABLE push_inbox (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id     TEXT    NOT NULL,
    message_id  BLOB    NOT NULL CHECK (length(message_id) = 16),
    argument    TEXT    NOT NULL,
    recorded_at INTEGER NOT NULL,
    state       INTEGER NOT NULL DEFAULT 0,
    UNIQUE (user_id, message_id)
);
CREATE INDEX push_inbox_pending ON push_inbox (user_id, seq) WHERE state = 0;
CREATE INDEX push_inbox_age ON push_inbox (recorded_at);
"];

/// Why the schema could not be brought up to date.
#[derive(Debug)]
pub(crate) enum SchemaError {
    TooNew { found: i64, known: i64 },
    Sqlite(rusqlite::Error),
}

impl From<rusqlite::Error> for SchemaError {
    fn from(error: rusqlite::Error) -> Self {
        SchemaError::Sqlite(error)
    }
}

/// Applies the migrations this file has not seen yet.
pub(crate) fn migrate(connection: &mut Connection) -> Result<(), SchemaError> {
    let known = MIGRATIONS.len() as i64;
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    transaction.execute_batch(
        "CREATE TABLE IF NOT EXISTS push_inbox_schema (
             singleton INTEGER PRIMARY KEY CHECK (singleton = 0),
             version   INTEGER NOT NULL
         );",
    )?;
    let found: i64 = transaction
        .query_row(
            "SELECT version FROM push_inbox_schema WHERE singleton = 0",
            [],
            |row| row.get(0),
        )
        .optional()?
        .unwrap_or(0);
    if found > known {
        return Err(SchemaError::TooNew { found, known });
    }
    for migration in MIGRATIONS.iter().skip(usize::try_from(found).unwrap_or(0)) {
        transaction.execute_batch(migration)?;
    }
    transaction.execute(
        "INSERT INTO push_inbox_schema (singleton, version) VALUES (0, ?1)
         ON CONFLICT (singleton) DO UPDATE SET version = excluded.version",
        [known],
    )?;
    transaction.commit()?;
    Ok(())
}
