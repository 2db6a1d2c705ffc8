use super::*;

fn frame(text: &str) -> String {
    format!("{text}\u{1e}")
}

fn pending(sent: &SentMessages) -> Vec<&str> {
    sent.pending().collect()
}

#[test]
fn acks_trim_the_buffer_and_the_rest_replays_in_sending_order() {
    let mut sent = SentMessages::new(100_000);
    assert_eq!(sent.first_unacknowledged(), 1, "nothing sent: the next id");
    for text in ["a", "b", "c", "d"] {
        sent.record(frame(text));
    }
    assert_eq!(sent.kept_bytes(), 8);
    sent.acknowledge(2);
    assert_eq!(pending(&sent), [frame("c"), frame("d")]);
    assert_eq!(sent.first_unacknowledged(), 3);
    assert_eq!(sent.kept_bytes(), 4);
    sent.acknowledge(1);
    assert_eq!(pending(&sent).len(), 2, "an older ack changes nothing");
    assert_eq!(sent.record(frame("e")), 5);
    sent.acknowledge(5);
    assert!(pending(&sent).is_empty());
    assert_eq!(sent.kept_bytes(), 0);
    assert_eq!(sent.first_unacknowledged(), 6);
}

#[test]
fn the_byte_bound_stops_sending_until_an_ack_frees_room() {
    let mut sent = SentMessages::new(10);
    sent.record("1234".into());
    assert!(sent.has_room());
    sent.record("5678".into());
    assert!(sent.has_room(), "8 of 10 bytes");
    sent.record("9abc".into());
    assert!(
        !sent.has_room(),
        "one message may cross the bound, then sending waits"
    );
    sent.acknowledge(1);
    assert!(sent.has_room());
    assert_eq!(sent.kept_bytes(), 8);
}

#[tokio::test(start_paused = true)]
async fn replayed_messages_already_received_are_dropped_and_new_ones_kept() {
    let mut received = ReceivedMessages::default();
    let now = Instant::now();
    for _ in 0..3 {
        assert_eq!(received.arrive(now), Arrival::New);
    }
    // The peer reconnects: it did not see an Ack past 1, so it replays 2 and 3, then 4.
    received.restart_at(2).unwrap();
    assert_eq!(received.arrive(now), Arrival::Duplicate);
    assert_eq!(received.arrive(now), Arrival::Duplicate);
    assert_eq!(received.arrive(now), Arrival::New);
    assert_eq!(received.arrive(now), Arrival::New);
}

#[test]
fn a_peer_sequence_past_what_was_received_is_refused() {
    let mut received = ReceivedMessages::default();
    let now = Instant::now();
    received.arrive(now);
    received.arrive(now);
    assert_eq!(received.restart_at(3), Ok(()), "the next one is fine");
    assert_eq!(
        received.restart_at(4),
        Err(ProtocolError::SequenceBeyondReceived {
            sequence_id: 4,
            received: 2
        }),
        "message 3 would be lost"
    );
    assert_eq!(received.restart_at(1), Ok(()), "an older start replays");
}

#[tokio::test(start_paused = true)]
async fn an_ack_is_due_a_second_after_the_first_unacknowledged_message_at_most_once() {
    let mut received = ReceivedMessages::default();
    assert_eq!(received.ack_due(), None, "nothing to acknowledge");
    let start = Instant::now();
    received.arrive(start);
    tokio::time::advance(Duration::from_millis(400)).await;
    received.arrive(Instant::now());
    assert_eq!(
        received.ack_due(),
        Some(start + ACK_DELAY),
        "not pushed back"
    );
    assert_eq!(received.take_due_ack(Instant::now()), None, "not due yet");
    tokio::time::advance(Duration::from_millis(600)).await;
    assert_eq!(received.take_due_ack(Instant::now()), Some(2));
    assert_eq!(
        received.ack_due(),
        None,
        "no Ack again without a new message"
    );
    tokio::time::advance(Duration::from_secs(5)).await;
    assert_eq!(received.take_due_ack(Instant::now()), None);
}
