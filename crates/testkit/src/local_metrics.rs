//! Running a test's async body under a `metrics` recorder of the test's own thread, on a
//! current-thread runtime: what the body (and every task it spawns) counts reaches that
//! recorder only, never another test's running at the same time.

use std::future::Future;

/// Runs `body` to completion on a new current-thread runtime (time and I/O enabled), with
/// `recorder` as this thread's recorder.
pub fn block_on_recorded<T>(recorder: &dyn metrics::Recorder, body: impl Future<Output = T>) -> T {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread runtime");
    metrics::with_local_recorder(recorder, || runtime.block_on(body))
}
