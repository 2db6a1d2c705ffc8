//! The embedded search index: tantivy in a directory (the data dir's
//! `search/`).
//!
//! Guarantees, on top of the port's:
//! * **One writer, batched commits.** A single `IndexWriter` (tantivy locks
//!   the directory, so a second process cannot open it) writes each
//!   [`IndexUpdate`] as exactly one commit, never one per document; an update
//!   that changes nothing and moves no checkpoint commits nothing.
//! * **Checkpoints in the commit.** Projection checkpoints are the commit's
//!   payload, so documents and checkpoint are durable together or not at all.
//! * **Read-your-writes.** The reader is reloaded before `apply` returns, so a
//!   search started afterwards sees the update.
//! * **Revision guard.** Under the writer lock, each document's stored
//!   revision is read from the last commit; a document at or below it is
//!   dropped, a newer one replaces it (delete by id, then add).
//! * **Failure leaves no half batch.** A failed update is rolled back (the
//!   writer is recreated if even that fails), and the error is returned.
//!
//! * **Flushed once per commit.** The directory gathers tantivy's flushes to
//!   disk at the commit (see `directory`), with the same durability.
//!
//! Tantivy's calls block, so every method runs on the blocking thread pool.

mod collector;
mod directory;
pub mod generations;
mod query;
mod schema;
mod writer;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, PoisonError, RwLock};

use async_trait::async_trait;
use orderflow_app::ports::{
    IndexUpdate, OrderDocument, Position, SearchCursor, SearchError, SearchIndex, SearchPage,
    SearchQuery,
};
use orderflow_domain::OrderId;
use tantivy::collector::DocSetCollector;
use tantivy::query::TermSetQuery;
use tantivy::schema::Value;
use tantivy::{DocAddress, Index, IndexReader, ReloadPolicy, Searcher, TantivyDocument};

use crate::stored;
use directory::CommitSyncedDirectory;
use schema::Fields;
use writer::Writer;

/// Why the index could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("cannot create the search index directory {path}: {source}")]
    Directory {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "cannot open the search index (another process may hold it, or its schema changed: \
         delete the directory to rebuild it from the events): {0}"
    )]
    Tantivy(#[from] tantivy::TantivyError),
    #[error("the search index's checkpoints are unreadable: {0}")]
    Checkpoints(serde_json::Error),
}

/// The tantivy adapter of [`SearchIndex`]. Cheap to clone.
#[derive(Clone)]
pub struct TantivySearchIndex {
    inner: Arc<Inner>,
}

struct Inner {
    fields: Fields,
    reader: IndexReader,
    writer: Writer,
    /// The checkpoints of the last commit, for cheap reads.
    checkpoints: RwLock<BTreeMap<String, u64>>,
    /// Set when reloading the reader after a commit failed.
    reader_stale: AtomicBool,
}

impl std::fmt::Debug for TantivySearchIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TantivySearchIndex").finish_non_exhaustive()
    }
}

impl TantivySearchIndex {
    /// Opens (or creates) the index in `directory`. Blocks: call it at
    /// startup or from the blocking pool.
    pub fn open(directory: &Path) -> Result<Self, OpenError> {
        std::fs::create_dir_all(directory).map_err(|source| OpenError::Directory {
            path: directory.display().to_string(),
            source,
        })?;
        let files = CommitSyncedDirectory::open(directory).map_err(tantivy::TantivyError::from)?;
        let (schema, fields) = schema::schema();
        Self::with_index(Index::open_or_create(files, schema)?, fields)
    }

    /// The position of `projection` as last committed to the index in
    /// `directory`, read from the index's metadata without opening a writer
    /// — so it works beside the process that holds the index. A directory
    /// without an index yet is at [`Position::START`].
    pub fn committed_checkpoint(directory: &Path, projection: &str) -> Result<Position, OpenError> {
        if !directory.join("meta.json").exists() {
            return Ok(Position::START);
        }
        let index = Index::open_in_dir(directory)?;
        let checkpoints = writer::read_checkpoints(index.load_metas()?.payload.as_deref())
            .map_err(OpenError::Checkpoints)?;
        Ok(checkpoints
            .get(projection)
            .map_or(Position::START, |position| Position::new(*position)))
    }

    /// An index in memory, for tests and throwaway instances.
    pub fn in_memory() -> Result<Self, OpenError> {
        let (schema, fields) = schema::schema();
        Self::with_index(Index::create_in_ram(schema), fields)
    }

    fn with_index(index: Index, fields: Fields) -> Result<Self, OpenError> {
        let checkpoints = writer::read_checkpoints(index.load_metas()?.payload.as_deref())
            .map_err(OpenError::Checkpoints)?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        let writer = Writer::new(index)?;
        Ok(TantivySearchIndex {
            inner: Arc::new(Inner {
                fields,
                reader,
                writer,
                checkpoints: RwLock::new(checkpoints),
                reader_stale: AtomicBool::new(false),
            }),
        })
    }

    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Inner) -> Result<T, SearchError> + Send + 'static,
    ) -> Result<T, SearchError> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || work(&inner))
            .await
            .map_err(|error| SearchError::Unavailable(Box::new(error)))?
    }
}

pub(crate) fn unavailable(error: impl Into<orderflow_app::error::Cause>) -> SearchError {
    SearchError::Unavailable(error.into())
}

impl Inner {
    fn documents(
        &self,
        searcher: &Searcher,
        addresses: impl IntoIterator<Item = DocAddress>,
    ) -> Result<Vec<OrderDocument>, SearchError> {
        addresses
            .into_iter()
            .map(|address| {
                let doc: TantivyDocument = searcher.doc(address).map_err(unavailable)?;
                let json = doc
                    .get_first(self.fields.document)
                    .and_then(|value| value.as_bytes())
                    .ok_or_else(|| SearchError::Corrupt("document without a body".into()))?;
                stored::decode(json)
            })
            .collect()
    }

    fn get_many(&self, ids: &[OrderId]) -> Result<Vec<OrderDocument>, SearchError> {
        let searcher = self.reader.searcher();
        let terms = ids
            .iter()
            .map(|id| self.fields.order_id_term(&id.to_string()));
        let addresses = searcher
            .search(&TermSetQuery::new(terms), &DocSetCollector)
            .map_err(unavailable)?;
        self.documents(&searcher, addresses)
    }

    fn search(&self, query: &SearchQuery) -> Result<SearchPage, SearchError> {
        let searcher = self.reader.searcher();
        let tantivy_query = query::to_tantivy(&self.fields, query);
        let (total, mut hits) = searcher
            .search(&*tantivy_query, &query::collector(query))
            .map_err(unavailable)?;
        let limit = query.limit() as usize;
        let more = hits.len() > limit;
        hits.truncate(limit);
        let items = self.documents(&searcher, hits.into_iter().map(|(_, address)| address))?;
        let next_cursor = if more {
            items.last().map(SearchCursor::after)
        } else {
            None
        };
        Ok(SearchPage {
            items,
            total,
            next_cursor,
        })
    }
}

#[async_trait]
impl SearchIndex for TantivySearchIndex {
    #[tracing::instrument(skip_all, fields(documents = update.documents.len()), err)]
    async fn apply(&self, update: IndexUpdate) -> Result<(), SearchError> {
        self.blocking(move |inner| inner.apply(update)).await
    }

    async fn get_many(&self, ids: &[OrderId]) -> Result<Vec<OrderDocument>, SearchError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids = ids.to_vec();
        self.blocking(move |inner| inner.get_many(&ids)).await
    }

    async fn search(&self, query: &SearchQuery) -> Result<SearchPage, SearchError> {
        let query = query.clone();
        self.blocking(move |inner| inner.search(&query)).await
    }

    async fn checkpoint(&self, projection: &str) -> Result<Position, SearchError> {
        let checkpoints = self
            .inner
            .checkpoints
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        Ok(Position::new(
            checkpoints.get(projection).copied().unwrap_or(0),
        ))
    }

    #[tracing::instrument(skip_all, err)]
    async fn clear(&self) -> Result<(), SearchError> {
        self.blocking(Inner::clear).await
    }
}

#[cfg(test)]
mod tests;
