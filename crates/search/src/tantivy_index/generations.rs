//! Rebuilding the embedded tantivy index of a running service: each rebuild
//! fills a fresh directory `search-<id>` in the data dir, and once it is
//! swapped in, `search.current` names it (written to a temporary file, then
//! renamed, so a crash leaves either the old or the new name) and the
//! replaced directory is deleted; a failed rebuild deletes its directory.
//! A service opens the directory [`directory_in_use`] names: the one
//! `search.current` names, or `search` when there is none.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use orderflow_app::ports::SearchIndex;

use super::TantivySearchIndex;
use orderflow_app::ports::{FreshIndexes, RebuildError};

use crate::building::Building;

/// The file naming the index directory in use.
const CURRENT_FILE: &str = "search.current";

/// The tantivy index directory in use under `data_dir`.
pub fn directory_in_use(data_dir: &Path) -> PathBuf {
    let named = std::fs::read_to_string(data_dir.join(CURRENT_FILE)).ok();
    match named.as_deref().map(str::trim) {
        Some(name)
            if name.starts_with("search-")
                && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') =>
        {
            data_dir.join(name)
        }
        _ => data_dir.join("search"),
    }
}

/// Fresh tantivy directories beside the one in use.
#[derive(Debug)]
pub struct TantivyGenerations {
    data_dir: PathBuf,
    /// The directory in use, and the one being built.
    in_use: Mutex<PathBuf>,
    building: Building<PathBuf>,
}

impl TantivyGenerations {
    /// Generations in `data_dir`, of which `in_use` is open.
    pub fn new(data_dir: &Path, in_use: PathBuf) -> Self {
        TantivyGenerations {
            data_dir: data_dir.to_owned(),
            in_use: Mutex::new(in_use),
            building: Building::default(),
        }
    }
}

#[async_trait]
impl FreshIndexes for TantivyGenerations {
    async fn create(&self) -> Result<Arc<dyn SearchIndex>, RebuildError> {
        let name = format!("search-{}", uuid::Uuid::now_v7().simple());
        let directory = self.data_dir.join(name);
        std::fs::create_dir_all(&directory).map_err(RebuildError::of)?;
        self.building.started(directory.clone());
        let index = tokio::task::spawn_blocking(move || TantivySearchIndex::open(&directory))
            .await
            .map_err(RebuildError::of)?
            .map_err(RebuildError::of)?;
        Ok(Arc::new(index))
    }

    async fn installed(&self, replaced: Arc<dyn SearchIndex>) -> Result<(), RebuildError> {
        let Some(built) = self.building.finished() else {
            return Err(RebuildError::refused("no index was being built"));
        };
        let name = built
            .file_name()
            .and_then(|name| name.to_str())
            .ok_or_else(|| RebuildError::refused("unnamed index directory"))?
            .to_owned();
        let temporary = self.data_dir.join(format!("{CURRENT_FILE}.tmp"));
        std::fs::write(&temporary, &name).map_err(RebuildError::of)?;
        std::fs::rename(&temporary, self.data_dir.join(CURRENT_FILE)).map_err(RebuildError::of)?;
        let old = std::mem::replace(
            &mut *self.in_use.lock().unwrap_or_else(PoisonError::into_inner),
            built,
        );
        // Searches that started on the old index may still read it; on
        // Unix its files stay readable until they close.
        drop(replaced);
        if let Err(error) = std::fs::remove_dir_all(&old) {
            tracing::warn!(directory = %old.display(), %error, "cannot delete the replaced search index");
        }
        Ok(())
    }

    async fn abandoned(&self) {
        if let Some(directory) = self.building.finished()
            && let Err(error) = std::fs::remove_dir_all(&directory)
        {
            tracing::warn!(directory = %directory.display(), %error, "cannot delete an abandoned search index");
        }
    }
}
