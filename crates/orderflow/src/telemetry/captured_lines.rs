//! Tests only: a log writer into memory, so a test can read the lines a `fmt` layer wrote.

use std::io;
use std::sync::{Arc, Mutex, PoisonError};

use tracing_subscriber::fmt::MakeWriter;

/// Collects what the log layer writes; clones share one buffer.
#[derive(Clone, Default)]
pub(crate) struct CapturedLines(Arc<Mutex<Vec<u8>>>);

impl CapturedLines {
    /// Everything written so far, as text.
    pub(crate) fn text(&self) -> String {
        let bytes = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

impl io::Write for CapturedLines {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for CapturedLines {
    type Writer = CapturedLines;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}
