//! The users' durable inbox, through the real relay from the in-process bus to the official
//! `@microsoft/signalr` client: a push nobody acknowledged reaches the user when they next
//! connect — after being offline, after a frozen tab, on another hub instance, after a
//! restart — and an acknowledged one never comes again; nobody else gets it.

use std::sync::Arc;
use std::time::Duration;

use orderflow_app::ports::{InboxBounds, PushInbox};
use orderflow_bus::{InProcessBus, InProcessConfig};
use orderflow_hub::HubConfig;
use orderflow_inbox::{PostgresInbox, SharedClock, SqliteInbox};
use orderflow_testkit::signalr::SignalrClient;
use orderflow_testkit::{ScratchPath, TestDatabase};
use serde_json::Value;

use crate::relayed::Relayed;
use crate::support::{PATIENCE, TestHub, user_id};

/// Long enough for a push that is coming to arrive.
const QUIET: Duration = Duration::from_millis(1500);
/// The relay's acknowledgement timeout here: a frozen tab's push times out quickly.
const ACK_TIMEOUT: Duration = Duration::from_secs(1);

/// A hub with a SQLite inbox in a scratch file, and its relay.
async fn hub_with_sqlite_inbox() -> (TestHub, Relayed, Arc<dyn PushInbox>, ScratchPath) {
    let scratch = ScratchPath::new("inbox.sqlite");
    let inbox: Arc<dyn PushInbox> = Arc::new(
        SqliteInbox::open(
            scratch.path(),
            InboxBounds::default(),
            SharedClock::system(),
        )
        .await
        .unwrap(),
    );
    let running = TestHub::start_with_inbox(HubConfig::default(), Some(inbox.clone())).await;
    let bus = Arc::new(InProcessBus::new(InProcessConfig::default()));
    let relayed = Relayed::start_on(bus, &running.hub, ACK_TIMEOUT).await;
    (running, relayed, inbox, scratch)
}

/// The message ids pending for `username`, once they are `expected` (within the patience).
pub(crate) async fn await_pending(
    inbox: &dyn PushInbox,
    username: &str,
    expected: usize,
) -> Vec<String> {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let pending = inbox.pending(&user_id(username), 10_000).await.unwrap();
        if pending.len() == expected {
            return pending
                .into_iter()
                .map(|entry| entry.message_id.to_string())
                .collect();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{username} has {} pending pushes, expected {expected}",
            pending.len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The next push the client receives: its `messageId`.
pub(crate) async fn next_push(client: &mut SignalrClient) -> Value {
    client.expect_event("push").await["update"]["messageId"].clone()
}

#[tokio::test]
async fn a_user_who_was_offline_gets_their_missed_pushes_in_order_when_they_connect() {
    let (running, relayed, inbox, _scratch) = hub_with_sqlite_inbox().await;
    let first = relayed.publish("alice", "offline-1").await;
    let second = relayed.publish("alice", "offline-2").await;
    await_pending(&*inbox, "alice", 2).await;

    let mut alice =
        SignalrClient::node(&running.hub_url(), &running.token("alice"), "result").await;
    alice.expect_event("connected").await;
    assert_eq!(next_push(&mut alice).await, first["messageId"]);
    assert_eq!(next_push(&mut alice).await, second["messageId"]);
    // Acknowledged: a later connection gets neither again.
    await_pending(&*inbox, "alice", 0).await;
    alice.stop().await;
    a_new_connection_gets_no_push(&running, "alice").await;
}

/// Connects `username` with the official client and checks that no push comes.
pub(crate) async fn a_new_connection_gets_no_push(running: &TestHub, username: &str) {
    let mut again =
        SignalrClient::node(&running.hub_url(), &running.token(username), "result").await;
    again.expect_event("connected").await;
    again.expect_no_event("push", QUIET).await;
    again.stop().await;
}

#[tokio::test]
async fn another_buyer_who_connects_gets_none_of_it() {
    let (running, relayed, inbox, _scratch) = hub_with_sqlite_inbox().await;
    relayed.publish("alice", "alice-only").await;
    await_pending(&*inbox, "alice", 1).await;
    let mut bob = SignalrClient::node(&running.hub_url(), &running.token("bob"), "result").await;
    bob.expect_event("connected").await;
    bob.expect_no_event("push", QUIET).await;
    bob.stop().await;
    assert_eq!(await_pending(&*inbox, "alice", 1).await.len(), 1);
}

#[tokio::test]
async fn a_frozen_tabs_unacknowledged_push_reaches_the_next_tab_and_acknowledged_ones_do_not() {
    let (running, relayed, inbox, _scratch) = hub_with_sqlite_inbox().await;
    let mut first_tab =
        SignalrClient::node(&running.hub_url(), &running.token("alice"), "result").await;
    first_tab.expect_event("connected").await;
    let answered = relayed.publish("alice", "answered").await;
    assert_eq!(next_push(&mut first_tab).await, answered["messageId"]);
    await_pending(&*inbox, "alice", 0).await;
    first_tab.stop().await;

    // A frozen tab: it receives the push and never answers.
    let mut frozen = running.client("alice").await;
    let unanswered = relayed.publish("alice", "unanswered").await;
    let invocation = frozen.next_message().await;
    assert_eq!(invocation["arguments"][0], unanswered);
    tokio::time::sleep(ACK_TIMEOUT + Duration::from_millis(200)).await;
    assert_eq!(
        await_pending(&*inbox, "alice", 1).await,
        vec![unanswered["messageId"].as_str().unwrap().to_owned()]
    );

    let mut new_tab =
        SignalrClient::node(&running.hub_url(), &running.token("alice"), "result").await;
    new_tab.expect_event("connected").await;
    assert_eq!(next_push(&mut new_tab).await, unanswered["messageId"]);
    new_tab.expect_no_event("push", QUIET).await;
    await_pending(&*inbox, "alice", 0).await;
    new_tab.stop().await;
}

#[tokio::test]
async fn server_mode_a_user_gets_what_they_missed_on_another_instance_and_after_a_restart() {
    let database = TestDatabase::create().await;
    let open = || async {
        let inbox: Arc<dyn PushInbox> = Arc::new(
            PostgresInbox::connect(
                database.url(),
                InboxBounds::default(),
                SharedClock::system(),
            )
            .await
            .unwrap(),
        );
        inbox
    };
    let bus: Arc<InProcessBus> = Arc::new(InProcessBus::new(InProcessConfig::default()));
    let mut one = TestHub::start_with_inbox(HubConfig::default(), Some(open().await)).await;
    let two_inbox = open().await;
    let two = TestHub::start_with_inbox(HubConfig::default(), Some(two_inbox.clone())).await;
    let _relay_one = Relayed::start_on(bus.clone(), &one.hub, ACK_TIMEOUT).await;
    let relay_two = Relayed::start_on(bus.clone(), &two.hub, ACK_TIMEOUT).await;

    let mut alice = SignalrClient::node(&one.hub_url(), &one.token("alice"), "result").await;
    alice.expect_event("connected").await;
    let seen = relay_two.publish("alice", "seen-on-one").await;
    assert_eq!(next_push(&mut alice).await, seen["messageId"]);
    await_pending(&*two_inbox, "alice", 0).await;
    alice.stop().await;

    // Offline: both instances record it, as one entry.
    let missed = relay_two.publish("alice", "missed").await;
    assert_eq!(await_pending(&*two_inbox, "alice", 1).await.len(), 1);
    let mut on_two = SignalrClient::node(&two.hub_url(), &two.token("alice"), "result").await;
    on_two.expect_event("connected").await;
    assert_eq!(next_push(&mut on_two).await, missed["messageId"]);
    on_two.expect_no_event("push", QUIET).await;
    on_two.stop().await;

    // Missed again while instance one restarts; it comes back with an empty memory.
    let during_restart = relay_two.publish("alice", "during-restart").await;
    await_pending(&*two_inbox, "alice", 1).await;
    one.restart().await;
    let mut back = SignalrClient::node(&one.hub_url(), &one.token("alice"), "result").await;
    back.expect_event("connected").await;
    assert_eq!(next_push(&mut back).await, during_restart["messageId"]);
    back.expect_no_event("push", QUIET).await;
    await_pending(&*two_inbox, "alice", 0).await;
    back.stop().await;
}
