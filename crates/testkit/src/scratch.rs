//! A file path inside a temporary directory of its own, for the embedded
//! adapters' conformance backends (SQLite files, tantivy directories).
//!
//! Guarantees: the path does not exist yet, nothing else uses its directory,
//! and the directory with everything in it is deleted when the value is
//! dropped — so a backend can open, drop and reopen its adapter on it.

use std::path::{Path, PathBuf};

/// `name` inside a fresh temporary directory.
#[derive(Debug)]
pub struct ScratchPath {
    _directory: tempfile::TempDir,
    path: PathBuf,
}

impl ScratchPath {
    /// Panics when no temporary directory can be made (a test cannot run).
    pub fn new(name: &str) -> Self {
        let directory = tempfile::tempdir().expect("a temporary directory for the test");
        let path = directory.path().join(name);
        ScratchPath {
            _directory: directory,
            path,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}
