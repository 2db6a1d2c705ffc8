//! Graceful shutdown on SIGINT (Ctrl-C) or SIGTERM.
//!
//! The handlers are installed by [`install`], before the process says it is
//! listening, so a signal sent as soon as it is up is never lost to the
//! default action (which would kill it without a graceful stop).

use std::future::Future;

/// Installs the handlers now; the returned future resolves on the first signal.
pub fn install() -> std::io::Result<impl Future<Output = ()> + Send + 'static> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut interrupt = signal(SignalKind::interrupt())?;
        let mut terminate = signal(SignalKind::terminate())?;
        Ok(async move {
            tokio::select! {
                _ = interrupt.recv() => {},
                _ = terminate.recv() => {},
            }
            tracing::info!("shutting down");
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
            tracing::info!("shutting down");
        })
    }
}
