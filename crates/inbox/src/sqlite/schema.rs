//! The SQLite schema of the push inbox and its migrations.
//!
//! The version lives in `push_inbox_schema` (one row), kept by `orderflow_sqlite::migrate`:
//! pending migrations and the new version in one `IMMEDIATE` transaction; a file written by
//! a newer orderflow is refused.

use std::path::Path;

use orderflow_sqlite::OpenFileError;
use rusqlite::Connection;

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

/// The writer's page cache and WAL size. Each push inserts into the unique index on
/// `(user_id, message_id)` at a random place (message ids are random), so every insert dirties
/// its own index page: with SQLite's default 2 MiB cache those pages are read again from the
/// file, and with the default checkpoint every 1,000 WAL pages a page dirtied again and again
/// is copied back each time. A 16 MiB cache and a checkpoint every 10,000 pages (a WAL of up to
/// ~40 MiB, reused) cut the writer's work per push (docs/BENCHMARKS.md, "What the inbox
/// costs"); the cache is filled only as pages are used, so an idle inbox stays small.
const WRITER_PRAGMAS: &str = "PRAGMA cache_size = -16384; PRAGMA wal_autocheckpoint = 10000;";

/// The file's durable writer, with the migrations it has not seen yet applied.
pub(crate) fn open_writer(path: &Path) -> Result<Connection, OpenFileError> {
    let connection = orderflow_sqlite::open_migrated_writer(path, "push_inbox_schema", MIGRATIONS)?;
    connection
        .execute_batch(WRITER_PRAGMAS)
        .map_err(|error| OpenFileError {
            path: path.to_owned(),
            cause: error.into(),
        })?;
    Ok(connection)
}
