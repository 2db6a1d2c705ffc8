//! The SQLite schema of the read model and its migrations.
//!
//! The version lives in `gateway_orders_schema` (one row), not in
//! `PRAGMA user_version`, so the read model never mistakes another
//! component's schema for its own. All pending migrations and the new version
//! are written in one `IMMEDIATE` transaction: two processes opening the same
//! new file migrate it once, and a crash mid-way leaves it as it was. A file
//! written by a newer orderflow is refused.

use rusqlite::{Connection, OptionalExtension, TransactionBehavior};

/// Each entry moves the schema version from its index to index + 1.
///
/// Ids are 16-byte blobs (they sort like PostgreSQL's `uuid`: bytewise),
/// timestamps Unix microseconds, order lines a JSON array. The details are
/// all present or all absent (a status may arrive before its creation).
const MIGRATIONS: &[&str] = &[r"
CREATE TABLE gateway_orders (
    id                  BLOB    PRIMARY KEY CHECK (length(id) = 16),
    buyer_id            TEXT,
    currency            TEXT,
    items               TEXT,
    total               TEXT,
    created_at          INTEGER,
    status              TEXT    NOT NULL,
    cancellation_reason TEXT,
    revision            INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL,
    CHECK ((buyer_id IS NULL) = (created_at IS NULL)
       AND (currency IS NULL) = (created_at IS NULL)
       AND (items    IS NULL) = (created_at IS NULL)
       AND (total    IS NULL) = (created_at IS NULL))
) WITHOUT ROWID;
CREATE INDEX gateway_orders_newest ON gateway_orders (created_at DESC, id DESC);
CREATE INDEX gateway_orders_buyer_newest ON gateway_orders (buyer_id, created_at DESC, id DESC);
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
        "CREATE TABLE IF NOT EXISTS gateway_orders_schema (
             singleton INTEGER PRIMARY KEY CHECK (singleton = 0),
             version   INTEGER NOT NULL
         );",
    )?;
    let found: i64 = transaction
        .query_row(
            "SELECT version FROM gateway_orders_schema WHERE singleton = 0",
            [],
            |row| row.get(0),
        )
        .optional()?
        .unwrap_or(0);
    if found > known {
        return Err(SchemaError::TooNew { found, known });
    }
    if found == known {
        return Ok(());
    }
    for sql in MIGRATIONS.iter().skip(usize::try_from(found).unwrap_or(0)) {
        transaction.execute_batch(sql)?;
    }
    transaction.execute(
        "INSERT INTO gateway_orders_schema (singleton, version) VALUES (0, ?1)
         ON CONFLICT (singleton) DO UPDATE SET version = excluded.version",
        [known],
    )?;
    transaction.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(connection: &Connection) -> i64 {
        connection
            .query_row("SELECT version FROM gateway_orders_schema", [], |row| {
                row.get(0)
            })
            .unwrap()
    }

    #[test]
    fn migrating_twice_is_harmless() {
        let mut connection = Connection::open_in_memory().unwrap();
        migrate(&mut connection).unwrap();
        migrate(&mut connection).unwrap();
        assert_eq!(version(&connection), MIGRATIONS.len() as i64);
    }

    #[test]
    fn a_file_from_a_newer_build_is_refused() {
        let mut connection = Connection::open_in_memory().unwrap();
        migrate(&mut connection).unwrap();
        connection
            .execute("UPDATE gateway_orders_schema SET version = version + 1", [])
            .unwrap();
        assert!(matches!(
            migrate(&mut connection),
            Err(SchemaError::TooNew { .. })
        ));
    }

    #[test]
    fn a_row_with_some_details_only_is_refused() {
        let mut connection = Connection::open_in_memory().unwrap();
        migrate(&mut connection).unwrap();
        let refused = connection.execute(
            "INSERT INTO gateway_orders (id, buyer_id, status, revision, updated_at)
             VALUES (zeroblob(16), 'alice', 'confirmed', 1, 0)",
            [],
        );
        assert!(refused.is_err());
    }
}
