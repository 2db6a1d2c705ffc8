//! Where a rebuild's fresh search indexes come from: the port each index
//! adapter implements (tantivy directories, PostgreSQL generations of
//! tables), checked by the rebuild tests of the search conformance suite.
//!
//! Promises: [`FreshIndexes::create`] gives an empty index beside the one in
//! use, never touching it; [`FreshIndexes::installed`] makes the filled one
//! the index in use for good (it survives a restart; a shared one is
//! followed by every instance) and lets the replaced one go;
//! [`FreshIndexes::abandoned`] removes what `create` made after a failed
//! rebuild, leaving the index in use as it was.

use std::sync::Arc;

use async_trait::async_trait;

use super::SearchIndex;

/// Makes the fresh index a rebuild fills, and installs it once swapped in.
#[async_trait]
pub trait FreshIndexes: Send + Sync + 'static {
    async fn create(&self) -> Result<Arc<dyn SearchIndex>, RebuildError>;
    async fn installed(&self, replaced: Arc<dyn SearchIndex>) -> Result<(), RebuildError>;
    /// The rebuild failed before the swap: removes what `create` made.
    async fn abandoned(&self);
}

/// Why a rebuild stopped; the live index is untouched. What it was doing is
/// its message, the failure underneath its source.
#[derive(Debug, thiserror::Error)]
#[error("search rebuild failed: {doing}")]
pub struct RebuildError {
    doing: String,
    #[source]
    cause: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl RebuildError {
    /// `cause` stopped the rebuild while it was `doing` something.
    pub fn new(
        doing: impl Into<String>,
        cause: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        RebuildError {
            doing: doing.into(),
            cause: Some(Box::new(cause)),
        }
    }

    /// `cause` stopped the rebuild; its own message says enough.
    pub fn of(cause: impl std::error::Error + Send + Sync + 'static) -> Self {
        RebuildError {
            doing: cause.to_string(),
            cause: Some(Box::new(cause)),
        }
    }

    /// A rebuild that cannot go on for a reason of its own (a broken
    /// invariant, a refused state).
    pub fn refused(reason: impl Into<String>) -> Self {
        RebuildError {
            doing: reason.into(),
            cause: None,
        }
    }
}
