//! Versioned migrations of one component's tables in a SQLite file.
//!
//! The version lives in a one-row table of the component's own (not in
//! `PRAGMA user_version`), so a component never mistakes another's schema for
//! its own. Every pending migration and the new version are written in one
//! `IMMEDIATE` transaction: two processes opening the same new file migrate it
//! once, and a crash mid-way leaves it as it was. A file written by a newer
//! build (a higher version than `migrations` knows) is refused.

use rusqlite::{Connection, OptionalExtension, TransactionBehavior};

/// Why a schema could not be brought up to date.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    /// The file is at a version newer than this build knows.
    #[error("schema version {found} is newer than this build knows ({known})")]
    TooNew { found: i64, known: i64 },
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
}

/// Applies the `migrations` (entry *i* moves the version from *i* to *i* + 1)
/// the file has not seen yet, recording the version in `version_table`.
pub fn migrate(
    connection: &mut Connection,
    version_table: &str,
    migrations: &[&str],
) -> Result<(), SchemaError> {
    let known = migrations.len() as i64;
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    transaction.execute_batch(&format!(
        "CREATE TABLE IF NOT EXISTS {version_table} (
             singleton INTEGER PRIMARY KEY CHECK (singleton = 0),
             version   INTEGER NOT NULL
         );"
    ))?;
    let found: i64 = transaction
        .query_row(
            &format!("SELECT version FROM {version_table} WHERE singleton = 0"),
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
    for sql in migrations.iter().skip(usize::try_from(found).unwrap_or(0)) {
        transaction.execute_batch(sql)?;
    }
    transaction.execute(
        &format!(
            "INSERT INTO {version_table} (singleton, version) VALUES (0, ?1)
             ON CONFLICT (singleton) DO UPDATE SET version = excluded.version"
        ),
        [known],
    )?;
    transaction.commit()?;
    Ok(())
}
