//! Why a read model could not start, as one error type for both adapters.
//!
//! Failures of the calls themselves are the port's
//! [`ReadModelError`]: `Unavailable` when retrying may help (the database is
//! down, busy or out of resources), `Internal` when it cannot (stored data
//! that does not decode, a bug). [`OpenError`] converts into it with the same
//! split, for callers that only deal in the port's error.

use orderflow_app::ports::ReadModelError;

/// Why [`crate::SqliteReadModel::open`] or
/// [`crate::PostgresReadModel::connect`] failed.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// Its SQLite file cannot be opened, or is at a schema newer than this build.
    #[error("the read model: {0}")]
    File(#[from] orderflow_sqlite::OpenFileError),
    #[error("cannot start the read model writer thread: {0}")]
    Thread(std::io::Error),
    #[error("invalid database url: {0}")]
    Url(sqlx::Error),
    #[error("cannot connect to PostgreSQL: {0}")]
    Connect(sqlx::Error),
    #[error("cannot migrate the read model schema: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl From<OpenError> for ReadModelError {
    fn from(error: OpenError) -> Self {
        let retry_may_help = match &error {
            OpenError::File(error) => error.is_transient(),
            OpenError::Connect(source)
            | OpenError::Migrate(sqlx::migrate::MigrateError::Execute(source)) => {
                crate::postgres::is_transient(source)
            }
            OpenError::Thread(_) => true,
            OpenError::Url(_) | OpenError::Migrate(_) => false,
        };
        if retry_may_help {
            ReadModelError::Unavailable(Box::new(error))
        } else {
            ReadModelError::Internal(Box::new(error))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_an_error_any_thread_can_carry<T: std::error::Error + Send + Sync + 'static>() {}

    #[test]
    fn open_errors_travel_across_threads_and_into_anyhow() {
        is_an_error_any_thread_can_carry::<OpenError>();
    }

    #[test]
    fn an_unreachable_server_is_unavailable_and_a_bad_url_is_internal() {
        let unreachable = OpenError::Connect(sqlx::Error::PoolTimedOut);
        assert!(matches!(
            ReadModelError::from(unreachable),
            ReadModelError::Unavailable(_)
        ));
        let bad_url = OpenError::Url(sqlx::Error::Configuration("no host".into()));
        assert!(matches!(
            ReadModelError::from(bad_url),
            ReadModelError::Internal(_)
        ));
    }
}
