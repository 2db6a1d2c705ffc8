//! The SQLite schema of the read model and its migrations.
//!
//! The version lives in `gateway_orders_schema` (one row), not in
//! `PRAGMA user_version`, so the read model never mistakes another
//! component's schema for its own. All pending migrations and the new version
//! are written in one `IMMEDIATE` transaction: two processes opening the same
//! new file migrate it once, and a crash mid-way leaves it as it was. A file
//! written by a newer orderflow is refused.

use std::path::Path;

use orderflow_sqlite::OpenFileError;
use rusqlite::Connection;

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

/// The file's durable writer, with the migrations it has not seen yet applied.
pub(crate) fn open_writer(path: &Path) -> Result<Connection, OpenFileError> {
    orderflow_sqlite::open_migrated_writer(path, "gateway_orders_schema", MIGRATIONS)
}

#[cfg(test)]
mod tests {
    use orderflow_sqlite::SchemaError;

    use super::*;

    fn migrate(connection: &mut Connection) -> Result<(), SchemaError> {
        orderflow_sqlite::migrate(connection, "gateway_orders_schema", MIGRATIONS)
    }

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
