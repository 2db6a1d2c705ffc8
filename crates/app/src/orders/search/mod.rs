//! Searching orders (`GET /orders`) and rebuilding the index that answers it:
//! the requests, the query they build, and the read-your-writes wait.
//!
//! Guarantees:
//! * A search is scoped by the one visibility rule
//!   ([`super::visibility::own_orders_only`]): a buyer sees only their own
//!   orders whatever they ask for, and naming another buyer is refused
//!   (403); callers with neither role cannot search (403).
//! * Parameters that do not make a query are a [`AppError::BadQuery`]
//!   (400), found before any I/O.
//! * With `min_position` (a write's position) the answer waits, at most
//!   [`READ_YOUR_WRITES_WAIT`], until the projection has indexed that
//!   position, and says whether it did ([`SearchOrdersResult::up_to_date`]).
//! * Rebuilds are admins' business only (403 for anyone else); an instance
//!   that cannot rebuild answers [`AppError::RebuildNotOffered`], and one
//!   already running is a conflict.
//!
//! [`AppError::BadQuery`]: crate::AppError::BadQuery
//! [`AppError::RebuildNotOffered`]: crate::AppError::RebuildNotOffered

mod handlers;
mod request;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::ports::{Position, SearchIndex};

pub use request::{
    SearchOrdersRequest, SearchOrdersResult, SearchRebuildStatusRequest, StartSearchRebuildRequest,
    ValidatedSearch,
};

/// How long a search waits for the projection to reach `min_position`.
pub const READ_YOUR_WRITES_WAIT: Duration = Duration::from_secs(2);

/// What order searches run on. Cheap to clone.
#[derive(Clone)]
pub struct OrderSearch {
    pub index: Arc<dyn SearchIndex>,
    /// The projection's indexed position, for `min_position` waits.
    pub progress: watch::Receiver<Position>,
    /// Rebuilds of the index; `None` when this instance cannot rebuild it.
    pub rebuilds: Option<Arc<dyn RebuildControl>>,
}

impl std::fmt::Debug for OrderSearch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrderSearch")
            .field("progress", &*self.progress.borrow())
            .field("rebuilds", &self.rebuilds.is_some())
            .finish_non_exhaustive()
    }
}

/// Starting and following a rebuild of the search index while it answers.
pub trait RebuildControl: Send + Sync {
    /// Starts a rebuild in the background; `false` when one is running.
    fn start(&self) -> bool;
    /// Where the last rebuild stands.
    fn status(&self) -> RebuildStatus;
}

/// Where a rebuild stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RebuildStatus {
    /// None has run since the service started.
    Idle,
    Running,
    /// The fresh index is in use.
    Done {
        /// The fresh index's checkpoint when it was swapped in.
        position: Position,
        /// The whole rebuild, the live projection's pause included.
        elapsed: Duration,
        /// How long the live projection paused for the final catch-up.
        paused: Duration,
    },
    /// It stopped; the live index is untouched.
    Failed(String),
}
