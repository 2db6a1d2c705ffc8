//! SQLite schema and its migrations, tracked with `PRAGMA user_version`.
//!
//! Migrations run in order, each in its own transaction, exactly once per
//! database file; a file written by a newer orderflow is refused.

use rusqlite::Connection;

/// Each entry moves `user_version` from its index to index + 1.
const MIGRATIONS: &[&str] = &[
    r"
CREATE TABLE events (
    position       INTEGER PRIMARY KEY,
    event_id       BLOB    NOT NULL UNIQUE,
    stream         TEXT    NOT NULL,
    revision       INTEGER NOT NULL,
    event_type     TEXT    NOT NULL,
    schema_version INTEGER NOT NULL,
    data           TEXT    NOT NULL,
    correlation_id BLOB    NOT NULL,
    causation_id   BLOB    NOT NULL,
    user_id        TEXT,
    occurred_at    INTEGER NOT NULL,
    UNIQUE (stream, revision)
);
CREATE TABLE streams (
    name     TEXT    PRIMARY KEY,
    revision INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE checkpoints (
    name     TEXT    PRIMARY KEY,
    position INTEGER NOT NULL
) WITHOUT ROWID;
",
    r"
-- The W3C trace context of the work that appended each event (NULL: not traced).
ALTER TABLE events ADD COLUMN traceparent TEXT;
ALTER TABLE events ADD COLUMN tracestate TEXT;
",
];

/// Why the schema could not be brought up to date.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    #[error("the database is at schema version {found}, newer than this build knows ({known})")]
    TooNew { found: usize, known: usize },
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
}

/// Applies the migrations this file has not seen yet.
pub(crate) fn migrate(connection: &mut Connection) -> Result<(), SchemaError> {
    let current: usize = connection.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    if current > MIGRATIONS.len() {
        return Err(SchemaError::TooNew {
            found: current,
            known: MIGRATIONS.len(),
        });
    }
    for (version, sql) in MIGRATIONS.iter().enumerate().skip(current) {
        let transaction = connection.transaction()?;
        transaction.execute_batch(sql)?;
        transaction.pragma_update(None, "user_version", version + 1)?;
        transaction.commit()?;
    }
    Ok(())
}
