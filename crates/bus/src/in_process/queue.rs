//! One in-process queue: its bindings, its ready messages in order, and its
//! capacity. Guarantees: a message is held by exactly one place at a time —
//! the ready list or one consumer's unsettled delivery — and occupies one unit
//! of capacity from enqueue until it is acked or dead-lettered, so a full
//! queue makes publishers wait instead of dropping anything. A requeued
//! message goes back to the head of the ready list.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use orderflow_app::ports::bus::{Message, QueueMode};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, oneshot};

use crate::topic::topic_matches;

/// Where the reply to a request goes; shared by the copies of one request
/// (fan-out, redelivery), the first reply wins.
pub(crate) type ReplySlot = Arc<Mutex<Option<oneshot::Sender<Message>>>>;

/// A message in a queue, with what the queue knows about it.
#[derive(Debug)]
pub(crate) struct Envelope {
    pub(crate) message: Message,
    pub(crate) redelivered: bool,
    /// How often it was handed back (nack with requeue, consumer gone).
    pub(crate) returns: u32,
    pub(crate) reply: Option<ReplySlot>,
    /// The unit of queue capacity it occupies; freed when it is dropped.
    pub(crate) _capacity: OwnedSemaphorePermit,
}

#[derive(Debug)]
pub(crate) struct Queue {
    pub(crate) name: String,
    pub(crate) mode: QueueMode,
    pub(crate) delivery_limit: u32,
    bindings: Mutex<Vec<String>>,
    capacity: Arc<Semaphore>,
    ready: Mutex<VecDeque<Envelope>>,
    available: Notify,
    deleted: AtomicBool,
}

/// Locks a mutex whose data stays consistent even if a holder panicked
/// (every critical section here is a single push, pop or insert).
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Queue {
    pub(crate) fn new(
        name: String,
        mode: QueueMode,
        delivery_limit: u32,
        bindings: Vec<String>,
        capacity: usize,
    ) -> Self {
        Queue {
            name,
            mode,
            delivery_limit,
            bindings: Mutex::new(bindings),
            capacity: Arc::new(Semaphore::new(capacity.max(1))),
            ready: Mutex::new(VecDeque::new()),
            available: Notify::new(),
            deleted: AtomicBool::new(false),
        }
    }

    /// Adds bindings that are not there yet (AMQP bindings only accumulate).
    pub(crate) fn bind(&self, patterns: &[String]) {
        let mut bindings = lock(&self.bindings);
        for pattern in patterns {
            if !bindings.contains(pattern) {
                bindings.push(pattern.clone());
            }
        }
    }

    pub(crate) fn routes(&self, routing_key: &str) -> bool {
        lock(&self.bindings)
            .iter()
            .any(|pattern| topic_matches(pattern, routing_key))
    }

    /// Waits for a unit of capacity; `None` if the queue was deleted meanwhile.
    pub(crate) async fn reserve(&self) -> Option<OwnedSemaphorePermit> {
        self.capacity.clone().acquire_owned().await.ok()
    }

    pub(crate) fn push_back(&self, envelope: Envelope) {
        self.push(envelope, false);
    }

    /// A requeued message goes first, as close as can be to where it was.
    pub(crate) fn push_front(&self, envelope: Envelope) {
        self.push(envelope, true);
    }

    fn push(&self, envelope: Envelope, front: bool) {
        if self.is_deleted() {
            return;
        }
        {
            let mut ready = lock(&self.ready);
            if front {
                ready.push_front(envelope);
            } else {
                ready.push_back(envelope);
            }
        }
        self.available.notify_waiters();
    }

    /// The next ready message, waiting for one.
    pub(crate) async fn take(&self) -> Envelope {
        loop {
            let notified = self.available.notified();
            tokio::pin!(notified);
            // Registered before looking, so a push in between is not missed.
            notified.as_mut().enable();
            if let Some(envelope) = lock(&self.ready).pop_front() {
                return envelope;
            }
            notified.await;
        }
    }

    /// Forgets every message and wakes waiting publishers, who skip it.
    pub(crate) fn delete(&self) {
        self.deleted.store(true, Ordering::SeqCst);
        self.capacity.close();
        lock(&self.ready).clear();
    }

    pub(crate) fn is_deleted(&self) -> bool {
        self.deleted.load(Ordering::SeqCst)
    }
}
