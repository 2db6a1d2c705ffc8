//! The timings the binary wires in, each named once. Those a deployment may
//! want to change are flags and `ORDERFLOW_*` variables (`cli`); these are
//! the fixed ones, with the reason for their value.

use std::time::Duration;

/// Least time between two checkpoint writes of an outbox subscription: a
/// replay republishes the same message ids, which consumers drop, so a
/// crash costs at most this much re-publishing and saves a durable write
/// per batch.
pub(crate) const OUTBOX_CHECKPOINT_INTERVAL: Duration = Duration::from_millis(250);

/// How long shutdown waits for each background worker to stop between
/// batches before it gives up on it.
pub(crate) const WORKER_STOP_WAIT: Duration = Duration::from_secs(10);
