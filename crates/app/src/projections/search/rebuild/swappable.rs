//! A search index whose adapter instance can be replaced while it serves.
//!
//! Guarantees: every call goes to the index current when the call starts;
//! [`SwappableIndex::replace`] takes effect for the next call, never in the
//! middle of one. Callers that need several calls to see one index (a
//! projection's read-then-write batch) hold a [`BatchGate`] around them, and
//! the swap takes the same gate.

use std::sync::{Arc, PoisonError, RwLock};

use crate::ports::{
    IndexUpdate, OrderDocument, Position, SearchError, SearchIndex, SearchPage, SearchQuery,
};
use async_trait::async_trait;
use orderflow_domain::OrderId;

/// Serialises a projection's batches with an index swap.
pub type BatchGate = Arc<tokio::sync::Mutex<()>>;

/// Delegates to the current index.
pub struct SwappableIndex {
    current: RwLock<Arc<dyn SearchIndex>>,
}

impl std::fmt::Debug for SwappableIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SwappableIndex").finish_non_exhaustive()
    }
}

impl SwappableIndex {
    pub fn new(index: Arc<dyn SearchIndex>) -> Self {
        SwappableIndex {
            current: RwLock::new(index),
        }
    }

    /// The index calls go to now.
    pub fn current(&self) -> Arc<dyn SearchIndex> {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Sends every later call to `index`; returns the one it replaces.
    pub fn replace(&self, index: Arc<dyn SearchIndex>) -> Arc<dyn SearchIndex> {
        std::mem::replace(
            &mut *self.current.write().unwrap_or_else(PoisonError::into_inner),
            index,
        )
    }
}

#[async_trait]
impl SearchIndex for SwappableIndex {
    async fn apply(&self, update: IndexUpdate) -> Result<(), SearchError> {
        self.current().apply(update).await
    }

    async fn get_many(&self, ids: &[OrderId]) -> Result<Vec<OrderDocument>, SearchError> {
        self.current().get_many(ids).await
    }

    async fn search(&self, query: &SearchQuery) -> Result<SearchPage, SearchError> {
        self.current().search(query).await
    }

    async fn checkpoint(&self, projection: &str) -> Result<Position, SearchError> {
        self.current().checkpoint(projection).await
    }

    async fn clear(&self) -> Result<(), SearchError> {
        self.current().clear().await
    }
}
