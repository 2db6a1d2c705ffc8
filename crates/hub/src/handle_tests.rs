//! Unit tests of `handle`: the outgoing bounds and the mode for clients without client
//! results.

use super::*;

fn handle_with(config: HubConfig) -> (Arc<ConnectionHandle>, ConnectionMailbox) {
    let id = ConnectionRef {
        user_id: "alice".into(),
        connection_id: "c1".into(),
    };
    ConnectionHandle::new(id, &config)
}

fn awaited(invoked: Result<Invoked, FailureReason>) -> String {
    match invoked {
        Ok(Invoked::Awaiting { invocation_id, .. }) => invocation_id,
        other => panic!("expected an awaited invocation, got {other:?}"),
    }
}

#[test]
fn a_full_outbound_queue_fails_the_push_and_asks_the_connection_to_close() {
    let (connection, mailbox) = handle_with(HubConfig {
        outbound_queue_capacity: 1,
        ..HubConfig::default()
    });
    awaited(connection.invoke("PushUpdate", "1", true));
    assert_eq!(
        connection.invoke("PushUpdate", "2", true).unwrap_err(),
        FailureReason::Overloaded
    );
    assert_eq!(*mailbox.close.borrow(), Some(CloseCause::Overloaded));
}

#[tokio::test]
async fn the_outgoing_buffer_is_bounded_in_bytes_and_frees_what_was_written() {
    let (connection, mut mailbox) = handle_with(HubConfig {
        outbound_queue_bytes: 300,
        ..HubConfig::default()
    });
    let argument = format!("\"{}\"", "x".repeat(60));
    awaited(connection.invoke("PushUpdate", &argument, true));
    awaited(connection.invoke("PushUpdate", &argument, true));
    let first = mailbox.outbound.next_frame().await.unwrap();
    assert!(first.contains("\"invocationId\":\"1\""), "{first}");
    awaited(connection.invoke("PushUpdate", &argument, true));
    assert_eq!(mailbox.close.borrow().clone(), None);
    assert_eq!(
        connection
            .invoke("PushUpdate", &argument, true)
            .unwrap_err(),
        FailureReason::Overloaded,
        "a third frame in the buffer is over 300 bytes"
    );
    assert_eq!(*mailbox.close.borrow(), Some(CloseCause::Overloaded));
}

#[test]
fn the_first_close_cause_wins() {
    let (connection, mailbox) = handle_with(HubConfig::default());
    connection.request_close(CloseCause::TokenExpired);
    connection.request_close(CloseCause::Shutdown);
    assert_eq!(*mailbox.close.borrow(), Some(CloseCause::TokenExpired));
}

#[tokio::test]
async fn a_client_that_never_answers_gets_pushes_without_an_id_until_it_answers_one() {
    let (connection, mut mailbox) = handle_with(HubConfig {
        unanswered_pushes_before_no_ack: 2,
        ..HubConfig::default()
    });
    let first = awaited(connection.invoke("PushUpdate", "1", true));
    connection.timed_out(&first);
    let second = awaited(connection.invoke("PushUpdate", "2", true));
    connection.timed_out(&second);
    assert!(matches!(
        connection.invoke("PushUpdate", "3", true),
        Ok(Invoked::Sent)
    ));
    let frames: Vec<String> = [
        mailbox.outbound.next_frame().await,
        mailbox.outbound.next_frame().await,
        mailbox.outbound.next_frame().await,
    ]
    .into_iter()
    .flatten()
    .collect();
    assert!(frames[2].starts_with("{\"type\":1,\"target\":\"PushUpdate\""));
    assert!(!frames[2].contains("invocationId"), "{}", frames[2]);

    // A late completion shows it answers after all.
    assert!(!connection.complete(&first, CompletionOutcome::Result(None)));
    awaited(connection.invoke("PushUpdate", "4", true));
}

#[test]
fn a_client_that_answered_once_stays_awaited_when_it_times_out() {
    let (connection, _mailbox) = handle_with(HubConfig {
        unanswered_pushes_before_no_ack: 1,
        ..HubConfig::default()
    });
    let first = awaited(connection.invoke("PushUpdate", "1", true));
    // Nobody waits any more (the receiver is gone), but the answer still counts.
    connection.complete(&first, CompletionOutcome::Result(None));
    let second = awaited(connection.invoke("PushUpdate", "2", true));
    connection.timed_out(&second);
    awaited(connection.invoke("PushUpdate", "3", true));
}
