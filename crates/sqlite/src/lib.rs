//! SQLite plumbing shared by orderflow's embedded adapters (the event store
//! and the gateway's read model), so that both open their files the same way.
//!
//! * [`open_durable_writer`]: the one read-write connection of a file, in
//!   WAL mode with `synchronous = FULL` (a commit that returned survives a
//!   power cut) and a 5 s busy timeout.
//! * Every connection opened here plans a cached statement once: the query planner
//!   stability guarantee is on ([`plan_once`]), so binding new values never recompiles it.
//! * [`ReadPool`]: read-only connections to the same file, opened on demand,
//!   used on Tokio's blocking threads; in WAL mode each read sees a
//!   consistent snapshot of what was committed before it started.
//! * [`migrate`]: a component's versioned migrations, in a version table of its own;
//!   [`open_migrated_writer`]: the durable writer of a file, migrated, or an
//!   [`OpenFileError`] naming the file.
//! * [`next_batch`]: what a single writer thread takes for one group commit.
//! * [`is_transient`]: whether retrying a failed SQLite call may help.
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod schema;

pub use schema::{SchemaError, migrate};

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rusqlite::config::DbConfig;
use rusqlite::{Connection, ErrorCode, OpenFlags};
use tokio::sync::mpsc;

/// Idle read connections beyond this many are closed.
const MAX_IDLE_READERS: usize = 8;

/// How long a connection waits for a lock before it fails.
const BUSY_TIMEOUT: &str = "PRAGMA busy_timeout = 5000;";

/// Opens (creating it if needed) the file's read-write connection: WAL,
/// `synchronous = FULL`, 5 s busy timeout.
pub fn open_durable_writer(path: &Path) -> rusqlite::Result<Connection> {
    let connection = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    plan_once(&connection)?;
    connection.execute_batch(&format!(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = FULL;
         {BUSY_TIMEOUT}"
    ))?;
    Ok(connection)
}

/// A file whose writer could not be opened or whose schema could not be
/// brought up to date.
#[derive(Debug, thiserror::Error)]
#[error("cannot open {}: {cause}", path.display())]
pub struct OpenFileError {
    pub path: PathBuf,
    #[source]
    pub cause: SchemaError,
}

impl OpenFileError {
    /// Whether retrying may help (a busy or locked file, an I/O hiccup); a
    /// schema newer than this build never passes.
    pub fn is_transient(&self) -> bool {
        matches!(&self.cause, SchemaError::Sqlite(error) if is_transient(error))
    }
}

/// [`open_durable_writer`] on `path`, with `migrations` applied (see
/// [`migrate`]; the version is kept in `version_table`).
pub fn open_migrated_writer(
    path: &Path,
    version_table: &str,
    migrations: &[&str],
) -> Result<Connection, OpenFileError> {
    let opened = open_durable_writer(path)
        .map_err(SchemaError::from)
        .and_then(|mut connection| {
            migrate(&mut connection, version_table, migrations).map(|()| connection)
        });
    opened.map_err(|cause| OpenFileError {
        path: path.to_owned(),
        cause,
    })
}

/// Blocks for the next command of a writer thread, then takes every one already queued, up
/// to `max` in all: one batch for one transaction. `None` once every sender is gone.
pub fn next_batch<T>(commands: &mut mpsc::Receiver<T>, max: usize) -> Option<Vec<T>> {
    let first = commands.blocking_recv()?;
    let mut batch = vec![first];
    while batch.len() < max {
        match commands.try_recv() {
            Ok(command) => batch.push(command),
            Err(_) => break,
        }
    }
    Some(batch)
}

/// Whether retrying may help: the file is busy, locked, or the disk or memory failed;
/// everything else is a bug or corrupt data.
pub fn is_transient(error: &rusqlite::Error) -> bool {
    matches!(
        error.sqlite_error_code(),
        Some(
            ErrorCode::DatabaseBusy
                | ErrorCode::DatabaseLocked
                | ErrorCode::SystemIoFailure
                | ErrorCode::DiskFull
                | ErrorCode::CannotOpen
                | ErrorCode::OutOfMemory
                | ErrorCode::FileLockingProtocolFailed
        )
    )
}

/// Why a pooled read did not run.
#[derive(Debug, thiserror::Error)]
pub enum ReadPoolError {
    /// No read-only connection could be opened.
    #[error("cannot open a read connection: {0}")]
    Connect(#[source] rusqlite::Error),
    /// The blocking task running the read failed (panicked or was cancelled).
    #[error("the blocking read task failed: {0}")]
    Task(String),
}

/// Read-only connections to one database file, opened on demand.
#[derive(Debug)]
pub struct ReadPool {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl ReadPool {
    pub fn new(path: PathBuf) -> Self {
        ReadPool {
            path,
            idle: Mutex::new(Vec::new()),
        }
    }

    /// Runs `read` on a pooled connection, on a blocking thread. The outer
    /// error is the pool's; the inner result is `read`'s own.
    pub async fn read<T, E>(
        self: &Arc<Self>,
        read: impl FnOnce(&Connection) -> Result<T, E> + Send + 'static,
    ) -> Result<Result<T, E>, ReadPoolError>
    where
        T: Send + 'static,
        E: Send + 'static,
    {
        let pool = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            let connection = match pool.idle.lock().ok().and_then(|mut idle| idle.pop()) {
                Some(connection) => connection,
                None => pool.connect().map_err(ReadPoolError::Connect)?,
            };
            let result = read(&connection);
            if let Ok(mut idle) = pool.idle.lock()
                && idle.len() < MAX_IDLE_READERS
            {
                idle.push(connection);
            }
            Ok(result)
        })
        .await
        .map_err(|join| ReadPoolError::Task(join.to_string()))?
    }

    fn connect(&self) -> rusqlite::Result<Connection> {
        let connection = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        plan_once(&connection)?;
        connection.execute_batch(BUSY_TIMEOUT)?;
        Ok(connection)
    }
}

/// Turns on the query planner stability guarantee: a statement's plan no longer depends on
/// the values bound to it. Without it, SQLite (3.51, with STAT4 as bundled) marks a statement
/// whose `LIMIT ?` it could read at prepare time, or whose bound value it compared with an
/// indexed column or a partial index, as expired whenever that parameter is bound again, and
/// recompiles it on the next step: every cached `… LIMIT ?` read (the subscriptions' catch-up
/// reads, the inbox's replay) was parsed and planned anew each time it ran. Our statements
/// never rely on a bound value for their plan (a partial index is matched by a literal in the
/// SQL), so nothing is lost.
fn plan_once(connection: &Connection) -> rusqlite::Result<()> {
    connection.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The durable writer of a new file holding table `t` with the one row 42.
    fn writer_of_one_row(scratch: &orderflow_testkit::ScratchPath, table: &str) -> Connection {
        let writer = open_durable_writer(scratch.path()).unwrap();
        writer
            .execute_batch(&format!(
                "CREATE TABLE t ({table}); INSERT INTO t VALUES (42);"
            ))
            .unwrap();
        writer
    }

    #[tokio::test]
    async fn readers_see_what_the_writer_committed_and_cannot_write() {
        let scratch = orderflow_testkit::ScratchPath::new("shared.sqlite");
        let writer = writer_of_one_row(&scratch, "x INTEGER");
        let mode: String = writer
            .query_row("PRAGMA journal_mode", [], |row| row.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        let pool = Arc::new(ReadPool::new(scratch.path().to_owned()));
        let x = pool
            .read(|c| c.query_row("SELECT x FROM t", [], |row| row.get::<_, i64>(0)))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(x, 42);
        let write = pool
            .read(|c| c.execute("INSERT INTO t VALUES (1)", []))
            .await
            .unwrap();
        assert!(write.is_err(), "a pooled connection is read-only");
    }

    /// How often SQLite recompiled the statement after binding new values: it runs a cached
    /// `LIMIT ?` read three times with other values, on `connection`.
    fn recompiles_of_a_limited_read(connection: &Connection) -> i32 {
        for (after, limit) in [(0, 10), (1, 20), (2, 1000)] {
            let mut statement = connection
                .prepare_cached("SELECT x FROM t WHERE x > ?1 ORDER BY x LIMIT ?2")
                .unwrap();
            let rows: Vec<i64> = statement
                .query_map([after, limit], |row| row.get(0))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            assert_eq!(rows, vec![42]);
        }
        let statement = connection
            .prepare_cached("SELECT x FROM t WHERE x > ?1 ORDER BY x LIMIT ?2")
            .unwrap();
        statement.get_status(rusqlite::StatementStatus::RePrepare)
    }

    #[tokio::test]
    async fn a_cached_statement_is_not_recompiled_when_new_values_are_bound() {
        let scratch = orderflow_testkit::ScratchPath::new("plans.sqlite");
        let writer = writer_of_one_row(&scratch, "x INTEGER PRIMARY KEY");
        assert_eq!(recompiles_of_a_limited_read(&writer), 0, "the writer");
        let pool = Arc::new(ReadPool::new(scratch.path().to_owned()));
        let recompiles = pool
            .read(|connection| Ok::<_, rusqlite::Error>(recompiles_of_a_limited_read(connection)))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(recompiles, 0, "a pooled reader");
    }

    #[tokio::test]
    async fn a_missing_file_is_a_connect_error() {
        let scratch = orderflow_testkit::ScratchPath::new("missing.sqlite");
        let pool = Arc::new(ReadPool::new(scratch.path().to_owned()));
        let outcome = pool.read(|_| Ok::<_, rusqlite::Error>(())).await;
        assert!(matches!(outcome, Err(ReadPoolError::Connect(_))));
    }
}
