//! Stateful reconnect's bookkeeping for one connection, pure (no I/O; time is passed in).
//!
//! Guarantees:
//! - [`SentMessages`] numbers the sequenced messages this side sends 1, 2, 3… and keeps each
//!   until the peer's `Ack` covers it; [`SentMessages::pending`] gives them back in sending
//!   order for a replay, and [`SentMessages::first_unacknowledged`] is the id of the
//!   `Sequence` that precedes that replay (the oldest unacknowledged id, as the reference
//!   code sends — or the next id when nothing waits);
//! - the kept bytes are bounded: once they reach the bound, [`SentMessages::has_room`] is
//!   false and the caller must wait for an `Ack` before sending more (so one message may take
//!   the buffer past the bound, as in the reference client, never two);
//! - [`ReceivedMessages`] numbers the peer's sequenced messages the same way, drops the ones
//!   already received (a replay after a reconnect), and refuses a peer `Sequence` that starts
//!   past what was received;
//! - an `Ack` is due one second after the first message not acknowledged yet, and not again
//!   before another message arrives: each side acks at most about once a second.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

use crate::protocol::ProtocolError;

/// How long after a received message its `Ack` is sent (the reference clients' delay).
pub(crate) const ACK_DELAY: Duration = Duration::from_secs(1);

/// One sent message kept for a replay.
#[derive(Debug)]
struct Kept {
    sequence_id: u64,
    frame: String,
}

/// The sequenced messages sent and not acknowledged yet.
#[derive(Debug)]
pub(crate) struct SentMessages {
    kept: VecDeque<Kept>,
    kept_bytes: usize,
    max_bytes: usize,
    /// How many sequenced messages were ever sent (the id of the last one).
    sent: u64,
}

impl SentMessages {
    pub(crate) fn new(max_bytes: usize) -> Self {
        Self {
            kept: VecDeque::new(),
            kept_bytes: 0,
            max_bytes,
            sent: 0,
        }
    }

    /// Whether another message may be sent before an `Ack` frees room.
    pub(crate) fn has_room(&self) -> bool {
        self.kept_bytes < self.max_bytes
    }

    /// Keeps `frame` as the next sequenced message; returns its id.
    pub(crate) fn record(&mut self, frame: String) -> u64 {
        self.sent += 1;
        self.kept_bytes += frame.len();
        self.kept.push_back(Kept {
            sequence_id: self.sent,
            frame,
        });
        self.sent
    }

    /// The peer received every message up to `sequence_id`: they need no replay any more.
    /// An id beyond what was sent acknowledges everything sent.
    pub(crate) fn acknowledge(&mut self, sequence_id: u64) {
        while self
            .kept
            .front()
            .is_some_and(|kept| kept.sequence_id <= sequence_id)
        {
            if let Some(kept) = self.kept.pop_front() {
                self.kept_bytes -= kept.frame.len();
            }
        }
    }

    /// The id of the `Sequence` sent after a reconnect: the first message replayed.
    pub(crate) fn first_unacknowledged(&self) -> u64 {
        self.kept
            .front()
            .map_or(self.sent + 1, |kept| kept.sequence_id)
    }

    /// The messages to replay, in sending order.
    pub(crate) fn pending(&self) -> impl Iterator<Item = &str> {
        self.kept.iter().map(|kept| kept.frame.as_str())
    }

    /// Bytes kept for a replay.
    pub(crate) fn kept_bytes(&self) -> usize {
        self.kept_bytes
    }
}

/// What to do with a sequenced message from the peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Arrival {
    /// New: act on it.
    New,
    /// Received before (replayed after a reconnect): drop it.
    Duplicate,
}

/// The sequenced messages received from the peer, and when to acknowledge them.
#[derive(Debug)]
pub(crate) struct ReceivedMessages {
    /// The id the next sequenced message from the peer has.
    next_id: u64,
    /// The highest id received (and acted on).
    latest: u64,
    /// When the next `Ack` is due, if one is.
    ack_due: Option<Instant>,
}

impl Default for ReceivedMessages {
    fn default() -> Self {
        Self {
            next_id: 1,
            latest: 0,
            ack_due: None,
        }
    }
}

impl ReceivedMessages {
    /// Numbers a sequenced message that arrived at `now`.
    pub(crate) fn arrive(&mut self, now: Instant) -> Arrival {
        let id = self.next_id;
        self.next_id += 1;
        // A duplicate means the peer did not see our last Ack: it is due again.
        self.ack_due.get_or_insert(now + ACK_DELAY);
        if id <= self.latest {
            return Arrival::Duplicate;
        }
        self.latest = id;
        Arrival::New
    }

    /// The peer's `Sequence`: its next sequenced message has id `sequence_id`. Past what was
    /// received, messages were lost: the connection must close.
    pub(crate) fn restart_at(&mut self, sequence_id: u64) -> Result<(), ProtocolError> {
        if sequence_id > self.next_id {
            return Err(ProtocolError::SequenceBeyondReceived {
                sequence_id,
                received: self.latest,
            });
        }
        self.next_id = sequence_id;
        Ok(())
    }

    /// When the next `Ack` is due.
    pub(crate) fn ack_due(&self) -> Option<Instant> {
        self.ack_due
    }

    /// The `Ack` to send now (its `sequenceId`), if one is due by `now`.
    pub(crate) fn take_due_ack(&mut self, now: Instant) -> Option<u64> {
        self.ack_due.filter(|due| *due <= now)?;
        self.ack_due = None;
        Some(self.latest)
    }
}

#[cfg(test)]
#[path = "replay_buffer_tests.rs"]
mod tests;
