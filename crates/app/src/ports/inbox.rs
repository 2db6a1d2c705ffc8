//! The push inbox port: every push a user has not acknowledged yet, kept durably so that it
//! reaches them when they next connect (after being offline, a frozen tab, a crashed or
//! restarted hub instance).
//!
//! What every adapter (SQLite embedded, PostgreSQL in server mode) promises, checked by the
//! conformance suite in `orderflow-inbox`:
//!
//! * **Idempotent by (user, message id).** [`PushInbox::record`] writes one entry per
//!   subscriber of each push; recording the same message for the same user again — a broker
//!   redelivery, or every hub instance recording the same push — changes nothing, whatever
//!   state the entry is in (pending, acknowledged or dropped). An acknowledged push is thus
//!   never pending again.
//! * **In order.** [`PushInbox::pending`] lists a user's pending entries oldest first: in the
//!   order they were first recorded (within one `record` call, the slice's order).
//! * **Acknowledged is final.** [`PushInbox::acknowledge`] takes entries out of the pending
//!   ones for good; acknowledging an unknown or already acknowledged entry is a no-op.
//! * **Bounded per user.** At most [`InboxBounds::max_per_user`] entries of a user are
//!   pending: recording past it drops the oldest pending ones, and `record` reports how many
//!   ([`Recorded::dropped_by_count`]). An entry recorded [`InboxBounds::max_age`] ago or
//!   longer (by the adapter's [`crate::ports::Clock`]) is no longer pending; [`PushInbox::prune`]
//!   deletes every entry of that age (pending, acknowledged or dropped) and reports how many
//!   pending ones it dropped ([`Pruned::dropped_by_age`]). The de-duplication of `record`
//!   therefore holds for `max_age`, far longer than a broker redelivery can come.
//! * **Shared.** Instances opened on the same storage (the same file, the same database) see
//!   each other's writes: a user connecting to any hub instance finds what another recorded.
//! * **Durable.** Once a call returns `Ok`, its effect survives a crash and a restart.

use std::time::Duration;

use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;

/// Why an inbox call failed.
#[derive(Debug, thiserror::Error)]
pub enum InboxError {
    /// The storage cannot be reached now; retrying may help.
    #[error("push inbox unavailable: {0}")]
    Unavailable(String),
    /// Stored data that does not decode, or a bug.
    #[error("push inbox failure: {0}")]
    Internal(String),
}

/// How much of a user's inbox is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InboxBounds {
    /// Pending entries kept per user; the oldest beyond are dropped.
    pub max_per_user: u32,
    /// Entries this old are no longer delivered, and are deleted by [`PushInbox::prune`].
    pub max_age: Duration,
}

impl InboxBounds {
    pub const DEFAULT_MAX_PER_USER: u32 = 1_000;
    pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(7 * 24 * 3600);
}

impl Default for InboxBounds {
    fn default() -> Self {
        Self {
            max_per_user: Self::DEFAULT_MAX_PER_USER,
            max_age: Self::DEFAULT_MAX_AGE,
        }
    }
}

/// One push to record for each of its users.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxPush {
    pub message_id: Uuid,
    /// Its subscribers; a user listed twice gets one entry.
    pub user_ids: Vec<String>,
    /// The `PushUpdate` argument, as JSON text.
    pub argument: String,
}

/// A pending entry of one user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxEntry {
    pub message_id: Uuid,
    /// The `PushUpdate` argument, as JSON text.
    pub argument: String,
    /// When it was first recorded (to the microsecond).
    pub recorded_at: OffsetDateTime,
}

/// What [`PushInbox::record`] did beyond recording.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Recorded {
    /// Pending entries dropped because their user was over [`InboxBounds::max_per_user`].
    pub dropped_by_count: u64,
}

/// What [`PushInbox::prune`] deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pruned {
    /// Pending (never acknowledged) entries deleted for their age.
    pub dropped_by_age: u64,
}

/// Most entries one prune transaction deletes (see [`PushInbox::prune`]).
pub const PRUNE_CHUNK_ROWS: u32 = 10_000;

/// The users' durable inbox of unacknowledged pushes.
#[async_trait]
pub trait PushInbox: Send + Sync + std::fmt::Debug {
    /// The bounds this inbox keeps.
    fn bounds(&self) -> InboxBounds;

    /// Records every push for each of its users, in the slice's order; idempotent by
    /// (user, message id).
    async fn record(&self, pushes: &[InboxPush]) -> Result<Recorded, InboxError>;

    /// The pending entries of `user_id`, oldest first, at most `limit`.
    async fn pending(&self, user_id: &str, limit: u32) -> Result<Vec<InboxEntry>, InboxError>;

    /// Marks these entries of `user_id` acknowledged: never pending again, and visible to
    /// every read once this returns. The mark need not be durable at once (adapters may
    /// commit it without waiting for the disk, which halves the fsyncs of a push): a crash
    /// can lose the marks of the last moments, and those pushes are delivered again — at
    /// least once, with the same message id, never lost.
    async fn acknowledge(&self, user_id: &str, message_ids: &[Uuid]) -> Result<(), InboxError>;

    /// Pending entries of all users (acknowledged, dropped and aged ones not counted): the
    /// inbox's depth, for `/metrics`.
    async fn depth(&self) -> Result<u64, InboxError>;

    /// Deletes every entry at least [`InboxBounds::max_age`] old, in chunks of at most
    /// [`PRUNE_CHUNK_ROWS`], each its own transaction: a large backlog never holds the
    /// writer (or PostgreSQL's locks and WAL) for one long delete.
    async fn prune(&self) -> Result<Pruned, InboxError>;
}
