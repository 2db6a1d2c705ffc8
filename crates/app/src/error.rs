//! The application's one error type: what a use case can answer besides
//! success, in categories the HTTP layer maps to statuses (validation 422,
//! forbidden 403, not found 404, conflict 409, idempotency key reused 422,
//! unavailable 503, internal 500, bad query 400). Internal details are for
//! logs only; the failure underneath a 503 or 500 is kept as the error's
//! source, so a log shows the whole chain.

use orderflow_domain::{ErrorKind, FieldError, OrderError, ValidationErrors};

use crate::ports::{EventStoreError, ReadModelError, SearchError};

/// The failure underneath an [`AppError::Unavailable`] or [`AppError::Internal`].
pub type Cause = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The request's values break the domain's rules; every field is listed.
    #[error("invalid request: {0}")]
    Validation(ValidationErrors),
    /// The caller is known but may not do this.
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
    /// No such order, or not one the caller may see.
    #[error("order not found")]
    NotFound,
    /// The order is not in a state that allows this, or a concurrent change won.
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// An `Idempotency-Key` was reused for a different request.
    #[error("the idempotency key was already used for a different request")]
    IdempotencyKeyReused,
    /// Query parameters that do not make a query (HTTP 400).
    #[error("{0}")]
    BadQuery(String),
    /// This instance runs no search index.
    #[error("search is not configured on this instance")]
    SearchNotConfigured,
    /// This instance's search index cannot be rebuilt while it answers.
    #[error("this service has no rebuildable search index")]
    RebuildNotOffered,
    /// A dependency (database, broker) is down; the client may retry.
    #[error("service unavailable: {0}")]
    Unavailable(#[source] Cause),
    /// A bug or corrupt data; logged, never detailed to the client.
    #[error("internal error: {0}")]
    Internal(#[source] Cause),
}

impl AppError {
    /// Whether the failure is ours (logged as an error) rather than the caller's.
    pub fn is_server_side(&self) -> bool {
        matches!(
            self,
            AppError::Unavailable(_) | AppError::Internal(_) | AppError::SearchNotConfigured
        )
    }

    /// An internal error: a broken invariant described by `message`.
    pub fn internal(message: impl Into<String>) -> Self {
        AppError::Internal(message.into().into())
    }
}

impl From<OrderError> for AppError {
    fn from(error: OrderError) -> Self {
        match (error.kind(), error) {
            (_, OrderError::Validation(errors)) => AppError::Validation(errors),
            (ErrorKind::NotFound, _) => AppError::NotFound,
            (ErrorKind::Conflict, error) => AppError::Conflict {
                code: error.code(),
                message: error.to_string(),
            },
            (ErrorKind::Validation, error) => AppError::Validation(ValidationErrors::single(
                FieldError::new("items", error.code(), error.to_string()),
            )),
        }
    }
}

impl From<ValidationErrors> for AppError {
    fn from(errors: ValidationErrors) -> Self {
        AppError::Validation(errors)
    }
}

impl From<EventStoreError> for AppError {
    fn from(error: EventStoreError) -> Self {
        match error {
            EventStoreError::WrongExpectedRevision { .. } => AppError::Conflict {
                code: "concurrent_modification",
                message: "the order was changed concurrently; reload it and try again".into(),
            },
            EventStoreError::DuplicateEventId { .. } => AppError::IdempotencyKeyReused,
            error @ EventStoreError::Unavailable(_) => AppError::Unavailable(Box::new(error)),
            error @ (EventStoreError::InvalidAppend(_) | EventStoreError::Corrupt(_)) => {
                AppError::Internal(Box::new(error))
            }
        }
    }
}

impl From<SearchError> for AppError {
    fn from(error: SearchError) -> Self {
        match error {
            error @ SearchError::Unavailable(_) => AppError::Unavailable(Box::new(error)),
            error @ SearchError::Corrupt(_) => AppError::Internal(Box::new(error)),
        }
    }
}

impl From<ReadModelError> for AppError {
    fn from(error: ReadModelError) -> Self {
        match error {
            error @ ReadModelError::Unavailable(_) => AppError::Unavailable(Box::new(error)),
            error @ ReadModelError::Internal(_) => AppError::Internal(Box::new(error)),
        }
    }
}
