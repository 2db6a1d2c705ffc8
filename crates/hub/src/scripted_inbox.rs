//! A test double of the inbox port for the unit tests of the relay and the recorder: it
//! writes down the message ids of each record, can fail every record (down), and can hold
//! records back until released.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use orderflow_app::ports::{
    InboxBounds, InboxEntry, InboxError, InboxPush, Pruned, PushInbox, Recorded,
};
use tokio::sync::watch;
use uuid::Uuid;

#[derive(Debug)]
pub(crate) struct ScriptedInbox {
    /// Every record fails as if the storage were unreachable.
    pub(crate) down: bool,
    /// While true, a record waits before it writes.
    pub(crate) held: watch::Sender<bool>,
    /// The record calls begun.
    pub(crate) begun: AtomicUsize,
    /// The message ids of each record that succeeded, in order.
    pub(crate) records: Mutex<Vec<Vec<Uuid>>>,
}

impl Default for ScriptedInbox {
    fn default() -> Self {
        Self {
            down: false,
            held: watch::Sender::new(false),
            begun: AtomicUsize::new(0),
            records: Mutex::default(),
        }
    }
}

impl ScriptedInbox {
    /// An inbox whose records wait until [`ScriptedInbox::release`].
    pub(crate) fn holding() -> Self {
        let inbox = Self::default();
        inbox.held.send_replace(true);
        inbox
    }

    pub(crate) fn release(&self) {
        self.held.send_replace(false);
    }

    pub(crate) fn begun(&self) -> usize {
        self.begun.load(Ordering::SeqCst)
    }

    pub(crate) fn records(&self) -> Vec<Vec<Uuid>> {
        self.records.lock().unwrap().clone()
    }
}

#[async_trait]
impl PushInbox for ScriptedInbox {
    fn bounds(&self) -> InboxBounds {
        InboxBounds::default()
    }
    async fn record(&self, pushes: &[InboxPush]) -> Result<Recorded, InboxError> {
        self.begun.fetch_add(1, Ordering::SeqCst);
        if self.down {
            return Err(InboxError::Unavailable("the inbox is down (test)".into()));
        }
        let mut held = self.held.subscribe();
        let _released = held.wait_for(|held| !*held).await.map(|_| ());
        let ids = pushes.iter().map(|push| push.message_id).collect();
        self.records.lock().unwrap().push(ids);
        Ok(Recorded::default())
    }
    async fn pending(&self, _: &str, _: u32) -> Result<Vec<InboxEntry>, InboxError> {
        Ok(Vec::new())
    }
    async fn acknowledge(&self, _: &str, _: &[Uuid]) -> Result<(), InboxError> {
        Ok(())
    }
    async fn depth(&self) -> Result<u64, InboxError> {
        Ok(0)
    }
    async fn prune(&self) -> Result<Pruned, InboxError> {
        Ok(Pruned::default())
    }
}
