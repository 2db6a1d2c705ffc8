//! Why an inbox could not start, as one error type for both adapters.
//!
//! Failures of the calls themselves are the port's [`InboxError`]: `Unavailable` when
//! retrying may help, `Internal` when it cannot.

use orderflow_app::ports::InboxError;

/// Why [`crate::SqliteInbox::open`] or [`crate::PostgresInbox::connect`] failed.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// Its SQLite file cannot be opened, or is at a schema newer than this build.
    #[error("the push inbox: {0}")]
    File(#[from] orderflow_sqlite::OpenFileError),
    #[error("cannot start the push inbox writer thread: {0}")]
    Thread(#[source] std::io::Error),
    #[error("invalid database url: {0}")]
    Url(#[source] sqlx::Error),
    #[error("cannot connect to PostgreSQL: {0}")]
    Connect(#[source] sqlx::Error),
    #[error("cannot migrate the push inbox schema: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl From<OpenError> for InboxError {
    fn from(error: OpenError) -> Self {
        InboxError::Unavailable(error.to_string())
    }
}
