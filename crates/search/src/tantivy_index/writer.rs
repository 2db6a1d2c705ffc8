//! The single writer of the tantivy index: batched commits with their
//! checkpoints, the revision guard, and recovery from failed commits.
//!
//! Guarantees: one update = one commit whose payload holds every projection
//! checkpoint (moved forward only); a failed update is rolled back so the
//! next one starts from the last commit; the reader is reloaded after every
//! commit (and again before the revision guard reads it if that failed).

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::Ordering;
use std::sync::{Mutex, PoisonError};

use orderflow_app::ports::{IndexUpdate, OrderDocument, SearchError};
use orderflow_domain::OrderId;
use serde::{Deserialize, Serialize};
use tantivy::schema::IndexRecordOption;
use tantivy::{DocSet, Index, IndexWriter, Searcher, TERMINATED, Term};

use super::schema::{Fields, REVISION};
use super::{Inner, unavailable};
use crate::update::newest_per_order;

/// Memory for documents buffered between commits (one indexing thread).
const WRITER_MEMORY_BYTES: usize = 64 * 1024 * 1024;

/// Segments below this many documents count as one size class when merging.
/// tantivy's default (10,000) suits bulk loads; this index commits every 100 ms,
/// so a burst makes segments of a few hundred documents, and with the default
/// every young document was merged again with each new small segment until its
/// segment passed ~17,000 documents. With 500, segments merge by size class
/// (8 of ~500 into ~4,000, 8 of those into ~32,000, …): the merge thread's share of
/// `up`'s CPU under `POST /orders` load fell from 12 % to 8 % (docs/BENCHMARKS.md).
const MERGE_MIN_LAYER_DOCS: u32 = 500;

fn open_writer(index: &Index) -> tantivy::Result<IndexWriter> {
    let writer: IndexWriter = index.writer_with_num_threads(1, WRITER_MEMORY_BYTES)?;
    let mut policy = tantivy::merge_policy::LogMergePolicy::default();
    policy.set_min_layer_size(MERGE_MIN_LAYER_DOCS);
    writer.set_merge_policy(Box::new(policy));
    Ok(writer)
}

/// The index's only `IndexWriter`, behind a lock; `None` after a failure it
/// could not roll back from, until the next update recreates it.
pub(super) struct Writer {
    index: Index,
    writer: Mutex<Option<IndexWriter>>,
}

/// The commit payload.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Payload {
    checkpoints: BTreeMap<String, u64>,
}

pub(super) fn read_checkpoints(
    payload: Option<&str>,
) -> Result<BTreeMap<String, u64>, serde_json::Error> {
    match payload {
        None | Some("") => Ok(BTreeMap::new()),
        Some(json) => Ok(serde_json::from_str::<Payload>(json)?.checkpoints),
    }
}

fn write_checkpoints(checkpoints: &BTreeMap<String, u64>) -> String {
    let payload = Payload {
        checkpoints: checkpoints.clone(),
    };
    serde_json::to_string(&payload).unwrap_or_default()
}

impl Writer {
    pub(super) fn new(index: Index) -> tantivy::Result<Self> {
        let writer = open_writer(&index)?;
        Ok(Writer {
            index,
            writer: Mutex::new(Some(writer)),
        })
    }

    /// The opstamp of the last commit.
    #[cfg(test)]
    pub(super) fn last_commit_opstamp(&self) -> u64 {
        self.index
            .load_metas()
            .map(|metas| metas.opstamp)
            .unwrap_or_default()
    }

    /// Runs `work` with the writer; rolls back whatever it left uncommitted
    /// when it fails.
    fn with<T>(
        &self,
        work: impl FnOnce(&mut IndexWriter) -> Result<T, SearchError>,
    ) -> Result<T, SearchError> {
        let mut slot = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        let writer = match slot.take() {
            Some(writer) => writer,
            None => open_writer(&self.index).map_err(unavailable)?,
        };
        let writer = slot.insert(writer);
        let result = work(writer);
        if result.is_err()
            && let Err(error) = writer.rollback()
        {
            tracing::error!(%error, "cannot roll back the search index writer, recreating it");
            // Dropping it releases the directory lock for the next writer.
            *slot = None;
        }
        result
    }
}

impl Inner {
    pub(super) fn apply(&self, update: IndexUpdate) -> Result<(), SearchError> {
        self.writer.with(|writer| {
            if self.reader_stale.swap(false, Ordering::AcqRel) {
                self.reload()?;
            }
            let documents = newest_per_order(update.documents);
            let searcher = self.reader.searcher();
            let stored = stored_revisions(&searcher, &self.fields, &documents)?;
            let mut written = 0_usize;
            for document in &documents {
                match stored.get(&document.order_id) {
                    Some(&revision) if revision >= document.revision => continue,
                    Some(_) => {
                        let id = document.order_id.to_string();
                        writer.delete_term(self.fields.order_id_term(&id));
                    }
                    None => {}
                }
                writer
                    .add_document(self.fields.tantivy_document(document))
                    .map_err(unavailable)?;
                written += 1;
            }
            let mut checkpoints = self.read_checkpoints();
            let mut moved = false;
            if let Some(checkpoint) = update.checkpoint {
                let stored = checkpoints.entry(checkpoint.projection).or_insert(0);
                moved = checkpoint.position.value() > *stored;
                *stored = (*stored).max(checkpoint.position.value());
            }
            if written == 0 && !moved {
                return Ok(());
            }
            self.commit(writer, checkpoints)?;
            tracing::debug!(written, "search index committed");
            Ok(())
        })
    }

    pub(super) fn clear(&self) -> Result<(), SearchError> {
        self.writer.with(|writer| {
            writer.delete_all_documents().map_err(unavailable)?;
            self.commit(writer, BTreeMap::new())
        })
    }

    fn commit(
        &self,
        writer: &mut IndexWriter,
        checkpoints: BTreeMap<String, u64>,
    ) -> Result<(), SearchError> {
        let mut commit = writer.prepare_commit().map_err(unavailable)?;
        commit.set_payload(&write_checkpoints(&checkpoints));
        commit.commit().map_err(unavailable)?;
        // Reload before publishing the checkpoints: whoever sees the new
        // checkpoint (a caller waiting for read-your-writes) must also find
        // the documents of that commit.
        let reloaded = self.reload();
        *self
            .checkpoints
            .write()
            .unwrap_or_else(PoisonError::into_inner) = checkpoints;
        reloaded
    }

    /// Points searches (and the revision guard) at the last commit; if that
    /// fails, the next update tries again before reading revisions.
    fn reload(&self) -> Result<(), SearchError> {
        self.reader.reload().map_err(|error| {
            self.reader_stale.store(true, Ordering::Release);
            unavailable(error)
        })
    }

    fn read_checkpoints(&self) -> BTreeMap<String, u64> {
        self.checkpoints
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// The revision stored for each of `documents` that is in the index.
fn stored_revisions(
    searcher: &Searcher,
    fields: &Fields,
    documents: &[OrderDocument],
) -> Result<HashMap<OrderId, u64>, SearchError> {
    let mut stored = HashMap::new();
    if searcher.num_docs() == 0 {
        return Ok(stored);
    }
    let terms: Vec<(OrderId, Term)> = documents
        .iter()
        .map(|document| {
            let id = document.order_id;
            (id, fields.order_id_term(&id.to_string()))
        })
        .collect();
    for segment in searcher.segment_readers() {
        let inverted = segment
            .inverted_index(fields.order_id)
            .map_err(unavailable)?;
        let revisions = segment.fast_fields().u64(REVISION).map_err(unavailable)?;
        for (id, term) in &terms {
            let postings = inverted
                .read_postings(term, IndexRecordOption::Basic)
                .map_err(unavailable)?;
            let Some(mut postings) = postings else {
                continue;
            };
            let mut doc = postings.doc();
            while doc != TERMINATED {
                if !segment.is_deleted(doc)
                    && let Some(revision) = revisions.first(doc)
                {
                    let known = stored.entry(*id).or_insert(revision);
                    *known = (*known).max(revision);
                }
                doc = postings.advance();
            }
        }
    }
    Ok(stored)
}
