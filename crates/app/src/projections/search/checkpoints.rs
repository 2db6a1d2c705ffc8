//! Projection checkpoints kept in the search index itself, behind the
//! event store's [`CheckpointStore`] port, so a [`CatchUpSubscription`] can resume
//! from them.
//!
//! Guarantees: [`CheckpointStore::load_checkpoint`] returns what the index
//! committed with its documents, so the subscription resumes exactly after
//! the last batch the index holds (and from the first event after
//! [`SearchIndex::clear`]). [`CheckpointStore::save_checkpoint`] writes only
//! when the index is behind; the search projection has normally committed
//! the same position with its documents already.
//!
//! [`CatchUpSubscription`]: crate::subscription::CatchUpSubscription

use std::sync::Arc;

use crate::ports::{
    CheckpointStore, EventStoreError, IndexUpdate, Position, ProjectionCheckpoint, SearchError,
    SearchIndex,
};
use async_trait::async_trait;

/// A [`CheckpointStore`] backed by a [`SearchIndex`].
#[derive(Clone)]
pub(super) struct IndexCheckpoints {
    index: Arc<dyn SearchIndex>,
}

impl std::fmt::Debug for IndexCheckpoints {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IndexCheckpoints").finish_non_exhaustive()
    }
}

impl IndexCheckpoints {
    pub(super) fn new(index: Arc<dyn SearchIndex>) -> Self {
        IndexCheckpoints { index }
    }
}

fn unavailable(error: SearchError) -> EventStoreError {
    EventStoreError::Unavailable(Box::new(error))
}

#[async_trait]
impl CheckpointStore for IndexCheckpoints {
    async fn load_checkpoint(&self, subscription: &str) -> Result<Position, EventStoreError> {
        self.index
            .checkpoint(subscription)
            .await
            .map_err(unavailable)
    }

    async fn save_checkpoint(
        &self,
        subscription: &str,
        position: Position,
    ) -> Result<(), EventStoreError> {
        if self.load_checkpoint(subscription).await? >= position {
            return Ok(());
        }
        let update = IndexUpdate {
            documents: Vec::new(),
            checkpoint: Some(ProjectionCheckpoint {
                projection: subscription.to_owned(),
                position,
            }),
        };
        self.index.apply(update).await.map_err(unavailable)
    }
}
