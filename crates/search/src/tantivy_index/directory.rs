//! The tantivy index's directory: tantivy's own `MmapDirectory`, with its
//! flushes to disk gathered at the commit instead of one per file.
//!
//! Tantivy flushes (`fdatasync`) every file it finishes writing and rewrites
//! `.managed.json` (its list of files, with a flush of its own) before each
//! new file; a commit of one small segment so costs a dozen or more
//! flushes, each waiting behind the event store's own on the same disk.
//! Here, finished files are flushed together, and `.managed.json` is written
//! once, right before `meta.json` — the write that makes a commit.
//!
//! Guarantees:
//! * **A commit is as durable as with tantivy's directory.** Before
//!   `meta.json` is replaced, every file written since the last commit (and
//!   the current `.managed.json`) is flushed and the directory entry synced;
//!   `meta.json` itself is written atomically with a flush, as before. So
//!   after a crash `meta.json` names only files that are whole on disk.
//! * **What a crash can cost** is disk space, never the index: files of a
//!   segment that was never committed may be missing from `.managed.json`,
//!   so tantivy's garbage collection does not delete them. A rebuild
//!   (`orderflow projections rebuild search`) starts a clean directory.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use tantivy::directory::error::{
    DeleteError, LockError, OpenDirectoryError, OpenReadError, OpenWriteError,
};
use tantivy::directory::{
    AntiCallToken, Directory, DirectoryLock, FileHandle, Lock, MmapDirectory, TerminatingWrite,
    WatchCallback, WatchHandle, WritePtr,
};

/// The file whose replacement commits the index.
const META: &str = "meta.json";
/// Tantivy's list of the files it manages.
const MANAGED: &str = ".managed.json";

/// See the module header. Clones share what is waiting for the next commit.
#[derive(Clone, Debug)]
pub(super) struct CommitSyncedDirectory {
    inner: MmapDirectory,
    root: PathBuf,
    pending: Arc<Mutex<Pending>>,
}

/// Written since the last commit, not yet flushed.
#[derive(Debug, Default)]
struct Pending {
    files: Vec<Arc<File>>,
    managed: Option<Vec<u8>>,
}

impl CommitSyncedDirectory {
    pub(super) fn open(root: &Path) -> Result<Self, OpenDirectoryError> {
        Ok(CommitSyncedDirectory {
            inner: MmapDirectory::open(root)?,
            root: root.to_owned(),
            pending: Arc::default(),
        })
    }

    fn pending(&self) -> std::sync::MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Flushes everything written since the last commit; on failure it is
    /// kept, so the next commit tries again.
    fn flush_pending(&self) -> io::Result<()> {
        let Pending { files, managed } = std::mem::take(&mut *self.pending());
        let flushed = (|| {
            if let Some(managed) = &managed {
                self.inner.atomic_write(Path::new(MANAGED), managed)?;
            }
            for file in &files {
                file.sync_data()?;
            }
            self.inner.sync_directory()
        })();
        if flushed.is_err() {
            let mut pending = self.pending();
            pending.files.extend(files);
            if pending.managed.is_none() {
                pending.managed = managed;
            }
        }
        flushed
    }
}

/// A file being written; when finished it waits for the next commit's flush.
struct PendingFile {
    file: Arc<File>,
    pending: Arc<Mutex<Pending>>,
}

impl Write for PendingFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        (&*self.file).write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl TerminatingWrite for PendingFile {
    fn terminate_ref(&mut self, _: AntiCallToken) -> io::Result<()> {
        self.pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .files
            .push(self.file.clone());
        Ok(())
    }
}

impl Directory for CommitSyncedDirectory {
    fn get_file_handle(&self, path: &Path) -> Result<Arc<dyn FileHandle>, OpenReadError> {
        self.inner.get_file_handle(path)
    }

    fn delete(&self, path: &Path) -> Result<(), DeleteError> {
        self.inner.delete(path)
    }

    fn exists(&self, path: &Path) -> Result<bool, OpenReadError> {
        if path == Path::new(MANAGED) && self.pending().managed.is_some() {
            return Ok(true);
        }
        self.inner.exists(path)
    }

    fn open_write(&self, path: &Path) -> Result<WritePtr, OpenWriteError> {
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(self.root.join(path))
            .map_err(|error| {
                if error.kind() == io::ErrorKind::AlreadyExists {
                    OpenWriteError::FileAlreadyExists(path.to_owned())
                } else {
                    OpenWriteError::wrap_io_error(error, path.to_owned())
                }
            })?;
        Ok(BufWriter::new(Box::new(PendingFile {
            file: Arc::new(file),
            pending: self.pending.clone(),
        })))
    }

    fn atomic_read(&self, path: &Path) -> Result<Vec<u8>, OpenReadError> {
        if path == Path::new(MANAGED)
            && let Some(managed) = &self.pending().managed
        {
            return Ok(managed.clone());
        }
        self.inner.atomic_read(path)
    }

    fn atomic_write(&self, path: &Path, data: &[u8]) -> io::Result<()> {
        if path == Path::new(MANAGED) {
            self.pending().managed = Some(data.to_vec());
            return Ok(());
        }
        if path == Path::new(META) {
            self.flush_pending()?;
        }
        self.inner.atomic_write(path, data)
    }

    fn sync_directory(&self) -> io::Result<()> {
        self.inner.sync_directory()
    }

    fn acquire_lock(&self, lock: &Lock) -> Result<DirectoryLock, LockError> {
        self.inner.acquire_lock(lock)
    }

    fn watch(&self, watch_callback: WatchCallback) -> tantivy::Result<WatchHandle> {
        self.inner.watch(watch_callback)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn directory() -> (tempfile::TempDir, CommitSyncedDirectory) {
        let temporary = tempfile::tempdir().unwrap();
        let directory = CommitSyncedDirectory::open(temporary.path()).unwrap();
        (temporary, directory)
    }

    #[test]
    fn the_file_list_reaches_the_disk_with_the_commit_and_reads_back_before() {
        let (temporary, directory) = directory();
        directory
            .atomic_write(Path::new(MANAGED), b"[\"a\"]")
            .unwrap();
        assert!(!temporary.path().join(MANAGED).exists());
        assert!(directory.exists(Path::new(MANAGED)).unwrap());
        assert_eq!(
            directory.atomic_read(Path::new(MANAGED)).unwrap(),
            b"[\"a\"]"
        );

        directory.atomic_write(Path::new(META), b"{}").unwrap();
        assert_eq!(
            std::fs::read(temporary.path().join(MANAGED)).unwrap(),
            b"[\"a\"]"
        );
        assert_eq!(std::fs::read(temporary.path().join(META)).unwrap(), b"{}");
    }

    #[test]
    fn written_files_are_readable_and_wait_for_the_commit() {
        let (temporary, directory) = directory();
        let mut writer = directory.open_write(Path::new("segment.idx")).unwrap();
        writer.write_all(b"postings").unwrap();
        writer.terminate().unwrap();
        assert_eq!(directory.pending().files.len(), 1);
        assert_eq!(
            std::fs::read(temporary.path().join("segment.idx")).unwrap(),
            b"postings"
        );
        assert!(matches!(
            directory.open_write(Path::new("segment.idx")),
            Err(OpenWriteError::FileAlreadyExists(_))
        ));

        directory.atomic_write(Path::new(META), b"{}").unwrap();
        assert!(directory.pending().files.is_empty());
    }
}
