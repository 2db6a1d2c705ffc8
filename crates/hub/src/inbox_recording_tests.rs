//! Unit tests of `inbox_recording`: batches handed over while one is being written go into
//! the next write, in order, and each ticket resolves once its batch is durable; a connection's
//! catch-up waits for what was handed over before it; shutdown gives up a write being retried
//! and fails its tickets; a lone push is written at once, later writes are spaced. Time is paused: backoffs and patience are waited in virtual time.

use std::sync::Arc;
use std::time::Duration;

use orderflow_app::ports::InboxPush;
use tokio::sync::watch;
use uuid::Uuid;

use super::*;
use crate::scripted_inbox::ScriptedInbox;

fn push() -> InboxPush {
    InboxPush {
        message_id: Uuid::new_v4(),
        user_ids: vec!["alice".into()],
        argument: "{}".into(),
    }
}

/// A recorder on `inbox`; the sender stops it.
fn recorder_on(
    inbox: &Arc<ScriptedInbox>,
) -> (InboxRecorder, Arc<RecordingProgress>, watch::Sender<bool>) {
    let progress = Arc::new(RecordingProgress::default());
    let (stop, stopped) = watch::channel(false);
    let (recorder, _task) = InboxRecorder::spawn(inbox.clone(), progress.clone(), stopped);
    (recorder, progress, stop)
}

/// Lets the recorder task run until it waits again.
async fn settle() {
    tokio::time::sleep(Duration::from_millis(10)).await;
}

async fn resolved(ticket: &RecordTicket) -> Option<Result<(), RecordingGivenUp>> {
    tokio::time::timeout(Duration::from_secs(1), ticket.clone().durable())
        .await
        .ok()
}

#[tokio::test(start_paused = true)]
async fn batches_handed_over_during_a_write_go_into_the_next_one_in_order() {
    let inbox = Arc::new(ScriptedInbox::holding());
    let (recorder, _progress, _stop) = recorder_on(&inbox);
    let (a, b, c) = (push(), push(), push());
    let first = recorder.hand_over(vec![a.clone()]);
    settle().await;
    assert_eq!(inbox.begun(), 1, "the first batch is being written");
    let second = recorder.hand_over(vec![b.clone()]);
    let third = recorder.hand_over(vec![c.clone()]);
    assert_eq!(
        resolved(&first).await,
        None,
        "not durable while the write is held"
    );

    inbox.release();
    for ticket in [&first, &second, &third] {
        assert_eq!(resolved(ticket).await, Some(Ok(())));
    }
    assert_eq!(
        inbox.records(),
        [vec![a.message_id], vec![b.message_id, c.message_id]],
        "two writes, in the order handed over"
    );
}

#[tokio::test(start_paused = true)]
async fn catching_up_waits_for_the_batches_handed_over_before_it() {
    let inbox = Arc::new(ScriptedInbox::holding());
    let (recorder, progress, _stop) = recorder_on(&inbox);
    assert!(
        progress.caught_up(Duration::ZERO).await,
        "nothing handed over yet"
    );

    let ticket = recorder.hand_over(vec![push()]);
    let waiting = tokio::spawn({
        let progress = progress.clone();
        async move { progress.caught_up(Duration::from_secs(60)).await }
    });
    settle().await;
    assert!(
        !waiting.is_finished(),
        "waits while the batch is being written"
    );
    assert!(
        !progress.caught_up(Duration::from_secs(1)).await,
        "gives up at its patience"
    );
    inbox.release();
    assert!(waiting.await.unwrap(), "caught up once it is durable");
    assert_eq!(resolved(&ticket).await, Some(Ok(())));
}

#[tokio::test(start_paused = true)]
async fn shutdown_gives_up_a_write_being_retried_and_fails_its_tickets() {
    let inbox = Arc::new(ScriptedInbox {
        down: true,
        ..ScriptedInbox::default()
    });
    let (recorder, progress, stop) = recorder_on(&inbox);
    let ticket = recorder.hand_over(vec![push()]);
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert!(inbox.begun() > 2, "retried with backoff");
    assert_eq!(
        resolved(&ticket).await,
        None,
        "not durable while the inbox is down"
    );

    stop.send_replace(true);
    assert_eq!(resolved(&ticket).await, Some(Err(RecordingGivenUp)));
    let later = recorder.hand_over(vec![push()]);
    assert_eq!(resolved(&later).await, Some(Err(RecordingGivenUp)));
    assert!(inbox.records().is_empty());
    assert!(
        progress.caught_up(Duration::ZERO).await,
        "a connection does not wait for a recorder that gave up"
    );
}

#[tokio::test(start_paused = true)]
async fn a_lone_push_is_written_at_once_and_later_writes_wait_for_the_interval() {
    let inbox = Arc::new(ScriptedInbox::default());
    let (recorder, _progress, _stop) = recorder_on(&inbox);
    let started = tokio::time::Instant::now();
    recorder.hand_over(vec![push()]).durable().await.unwrap();
    assert_eq!(
        started.elapsed(),
        Duration::ZERO,
        "a lone push is written at once"
    );

    let second = recorder.hand_over(vec![push()]);
    let third = recorder.hand_over(vec![push()]);
    second.durable().await.unwrap();
    third.durable().await.unwrap();
    assert!(
        started.elapsed() >= MIN_WRITE_INTERVAL,
        "spaced from the first write"
    );
    assert_eq!(inbox.records().len(), 2, "the later two in one write");
}
