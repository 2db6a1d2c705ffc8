//! The relay records pushes in the inbox beside pushing them, through the real relay and the
//! official `@microsoft/signalr` client, with a SQLite inbox whose writes the test holds back:
//! a connected user is pushed to before the write is durable, and their answer still marks
//! the push acknowledged once it is; a user who connects while their push is being written
//! gets it when the write lands.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use orderflow_app::ports::{
    InboxBounds, InboxEntry, InboxError, InboxPush, Pruned, PushInbox, Recorded,
};
use orderflow_bus::{InProcessBus, InProcessConfig};
use orderflow_hub::HubConfig;
use orderflow_inbox::{SharedClock, SqliteInbox};
use orderflow_testkit::ScratchPath;
use orderflow_testkit::signalr::SignalrClient;
use tokio::sync::watch;
use uuid::Uuid;

use crate::inbox::{a_new_connection_gets_no_push, await_pending, next_push};
use crate::relayed::Relayed;
use crate::support::{PATIENCE, TestHub};

/// A SQLite inbox whose records wait while the test holds them; everything else passes.
#[derive(Debug)]
struct HeldInbox {
    inner: SqliteInbox,
    held: watch::Sender<bool>,
    /// How many records have begun.
    begun: watch::Sender<usize>,
}

impl HeldInbox {
    async fn record_begun(&self) {
        let mut begun = self.begun.subscribe();
        tokio::time::timeout(PATIENCE, begun.wait_for(|begun| *begun > 0))
            .await
            .expect("the relay starts recording the push")
            .unwrap();
    }
}

#[async_trait]
impl PushInbox for HeldInbox {
    fn bounds(&self) -> InboxBounds {
        self.inner.bounds()
    }
    async fn record(&self, pushes: &[InboxPush]) -> Result<Recorded, InboxError> {
        self.begun.send_modify(|begun| *begun += 1);
        let mut held = self.held.subscribe();
        let _released = held.wait_for(|held| !*held).await.map(|_| ());
        self.inner.record(pushes).await
    }
    async fn pending(&self, user_id: &str, limit: u32) -> Result<Vec<InboxEntry>, InboxError> {
        self.inner.pending(user_id, limit).await
    }
    async fn acknowledge(&self, user_id: &str, message_ids: &[Uuid]) -> Result<(), InboxError> {
        self.inner.acknowledge(user_id, message_ids).await
    }
    async fn depth(&self) -> Result<u64, InboxError> {
        self.inner.depth().await
    }
    async fn prune(&self) -> Result<Pruned, InboxError> {
        self.inner.prune().await
    }
}

/// A hub whose inbox holds its records back, and its relay.
async fn hub_with_held_inbox() -> (TestHub, Relayed, Arc<HeldInbox>, ScratchPath) {
    let scratch = ScratchPath::new("inbox.sqlite");
    let inner = SqliteInbox::open(
        scratch.path(),
        InboxBounds::default(),
        SharedClock::system(),
    )
    .await
    .unwrap();
    let inbox = Arc::new(HeldInbox {
        inner,
        held: watch::Sender::new(true),
        begun: watch::Sender::new(0),
    });
    let shared: Arc<dyn PushInbox> = inbox.clone();
    let running = TestHub::start_with_inbox(HubConfig::default(), Some(shared)).await;
    let bus = Arc::new(InProcessBus::new(InProcessConfig::default()));
    let relayed = Relayed::start_on(bus, &running.hub, HubConfig::DEFAULT_ACK_TIMEOUT).await;
    (running, relayed, inbox, scratch)
}

#[tokio::test]
async fn a_connected_user_is_pushed_to_before_the_write_is_durable_and_stays_acknowledged() {
    let (running, relayed, inbox, _scratch) = hub_with_held_inbox().await;
    let mut alice =
        SignalrClient::node(&running.hub_url(), &running.token("alice"), "result").await;
    alice.expect_event("connected").await;

    let confirmed = relayed.publish("alice", "pushed-early").await;
    assert_eq!(
        next_push(&mut alice).await,
        confirmed["messageId"],
        "the push does not wait for the inbox"
    );
    inbox.record_begun().await;
    // Her answer reaches the hub while the write is still held; the write, once it lands,
    // must not make the push pending again.
    tokio::time::sleep(Duration::from_millis(500)).await;
    inbox.held.send_replace(false);
    tokio::time::sleep(Duration::from_millis(300)).await;
    await_pending(&*inbox, "alice", 0).await;
    alice.stop().await;
    a_new_connection_gets_no_push(&running, "alice").await;
}

#[tokio::test]
async fn a_user_who_connects_while_their_push_is_being_written_gets_it() {
    let (running, relayed, inbox, _scratch) = hub_with_held_inbox().await;
    let missed = relayed.publish("alice", "written-late").await;
    inbox.record_begun().await;

    let mut alice =
        SignalrClient::node(&running.hub_url(), &running.token("alice"), "result").await;
    alice.expect_event("connected").await;
    // Her replay has read the inbox by now, were it not waiting for the write.
    tokio::time::sleep(Duration::from_millis(500)).await;
    inbox.held.send_replace(false);
    assert_eq!(next_push(&mut alice).await, missed["messageId"]);
    await_pending(&*inbox, "alice", 0).await;
    alice.stop().await;
}
