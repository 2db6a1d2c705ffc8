//! What every inbox adapter must do: the promises of `orderflow_app::ports::inbox`. Each
//! function is one test, run against every adapter by `main.rs`.

use std::time::Duration;

use orderflow_app::ports::{InboxBounds, InboxPush, PushInbox};
use time::OffsetDateTime;
use time::macros::datetime;
use uuid::Uuid;

use crate::backends::Backend;

pub const T0: OffsetDateTime = datetime!(2026-03-01 12:00:00.123456789 UTC);

fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

/// Push `n` for `users`.
fn push(n: u128, users: &[&str]) -> InboxPush {
    InboxPush {
        message_id: id(n),
        user_ids: users.iter().map(|user| (*user).to_owned()).collect(),
        argument: format!(
            r#"{{"type":"order-confirmed","orderId":"o-{n}","messageId":"{}"}}"#,
            id(n)
        ),
    }
}

async fn pending_ids(inbox: &dyn PushInbox, user: &str) -> Vec<Uuid> {
    inbox
        .pending(user, 10_000)
        .await
        .unwrap()
        .into_iter()
        .map(|entry| entry.message_id)
        .collect()
}

pub async fn a_recorded_push_is_pending_for_each_of_its_users_and_nobody_else(
    backend: &impl Backend,
) {
    let inbox = backend.open().await;
    let recorded = inbox
        .record(&[push(1, &["alice", "bob", "alice"])])
        .await
        .unwrap();
    assert_eq!(recorded.dropped_by_count, 0);
    for user in ["alice", "bob"] {
        let entries = inbox.pending(user, 10).await.unwrap();
        assert_eq!(entries.len(), 1, "{user} has one entry");
        assert_eq!(entries[0].message_id, id(1));
        assert_eq!(entries[0].argument, push(1, &[]).argument);
        // Kept to the microsecond.
        assert_eq!(
            entries[0].recorded_at,
            datetime!(2026-03-01 12:00:00.123456 UTC)
        );
    }
    assert!(pending_ids(&*inbox, "carol").await.is_empty());
}

pub async fn pending_entries_come_oldest_first(backend: &impl Backend) {
    let inbox = backend.open().await;
    inbox
        .record(&[push(5, &["alice"]), push(3, &["alice"])])
        .await
        .unwrap();
    backend.clock().advance(time::Duration::seconds(1));
    inbox.record(&[push(4, &["alice"])]).await.unwrap();
    inbox.record(&[push(1, &["alice"])]).await.unwrap();
    assert_eq!(
        pending_ids(&*inbox, "alice").await,
        vec![id(5), id(3), id(4), id(1)]
    );
}

pub async fn recording_again_or_from_another_instance_writes_one_entry(backend: &impl Backend) {
    let first = backend.open().await;
    let second = backend.open().await;
    first
        .record(&[push(1, &["alice"]), push(2, &["alice"])])
        .await
        .unwrap();
    // Every hub instance records every push, concurrently.
    let all = [
        push(1, &["alice"]),
        push(2, &["alice"]),
        push(3, &["alice"]),
    ];
    let (a, b) = tokio::join!(first.record(&all), second.record(&all));
    a.unwrap();
    b.unwrap();
    second.record(&[push(2, &["alice"])]).await.unwrap();
    assert_eq!(
        pending_ids(&*first, "alice").await,
        vec![id(1), id(2), id(3)]
    );
}

pub async fn an_acknowledged_push_is_never_pending_again_even_when_recorded_again(
    backend: &impl Backend,
) {
    let inbox = backend.open().await;
    let other = backend.open().await;
    inbox
        .record(&[push(1, &["alice"]), push(2, &["alice"])])
        .await
        .unwrap();
    inbox.acknowledge("alice", &[id(1)]).await.unwrap();
    // Again, and unknown ids: no-ops.
    inbox.acknowledge("alice", &[id(1), id(99)]).await.unwrap();
    assert_eq!(pending_ids(&*inbox, "alice").await, vec![id(2)]);
    // A slower hub instance records the same push after the acknowledgement.
    other.record(&[push(1, &["alice"])]).await.unwrap();
    assert_eq!(pending_ids(&*inbox, "alice").await, vec![id(2)]);
}

pub async fn acknowledging_is_per_user(backend: &impl Backend) {
    let inbox = backend.open().await;
    inbox.record(&[push(1, &["alice", "bob"])]).await.unwrap();
    inbox.acknowledge("alice", &[id(1)]).await.unwrap();
    assert!(pending_ids(&*inbox, "alice").await.is_empty());
    assert_eq!(pending_ids(&*inbox, "bob").await, vec![id(1)]);
}

pub async fn past_the_count_bound_the_oldest_are_dropped_and_counted(backend: &impl Backend) {
    let bounds = InboxBounds {
        max_per_user: 3,
        ..InboxBounds::default()
    };
    let inbox = backend.open_with(bounds).await;
    let recorded = inbox
        .record(&[push(1, &["alice", "bob"]), push(2, &["alice"])])
        .await
        .unwrap();
    assert_eq!(recorded.dropped_by_count, 0);
    inbox.acknowledge("alice", &[id(2)]).await.unwrap();
    // Alice: 1 pending, 2 acknowledged (not counted); then 3, 4, 5 take her past 3 pending.
    let recorded = inbox
        .record(&[
            push(3, &["alice"]),
            push(4, &["alice"]),
            push(5, &["alice", "bob"]),
        ])
        .await
        .unwrap();
    assert_eq!(recorded.dropped_by_count, 1, "alice's oldest pending push");
    assert_eq!(
        pending_ids(&*inbox, "alice").await,
        vec![id(3), id(4), id(5)]
    );
    assert_eq!(pending_ids(&*inbox, "bob").await, vec![id(1), id(5)]);
    // A dropped push stays dropped when recorded again (another instance, a redelivery).
    let recorded = inbox.record(&[push(1, &["alice"])]).await.unwrap();
    assert_eq!(recorded.dropped_by_count, 0);
    assert_eq!(
        pending_ids(&*inbox, "alice").await,
        vec![id(3), id(4), id(5)]
    );
    let recorded = inbox.record(&[push(6, &["alice"])]).await.unwrap();
    assert_eq!(recorded.dropped_by_count, 1);
    assert_eq!(
        pending_ids(&*inbox, "alice").await,
        vec![id(4), id(5), id(6)]
    );
}

pub async fn past_the_age_bound_entries_are_not_pending_and_pruning_counts_them(
    backend: &impl Backend,
) {
    let bounds = InboxBounds {
        max_age: Duration::from_secs(3600),
        ..InboxBounds::default()
    };
    let inbox = backend.open_with(bounds).await;
    inbox
        .record(&[push(1, &["alice", "bob"]), push(2, &["alice"])])
        .await
        .unwrap();
    inbox.acknowledge("alice", &[id(2)]).await.unwrap();
    backend.clock().advance(time::Duration::minutes(30));
    inbox.record(&[push(3, &["alice"])]).await.unwrap();
    assert_eq!(inbox.prune().await.unwrap().dropped_by_age, 0);
    backend.clock().advance(time::Duration::minutes(30));
    // Exactly the age bound: 1 and 2 are past it, 3 is not.
    assert_eq!(pending_ids(&*inbox, "alice").await, vec![id(3)]);
    assert!(pending_ids(&*inbox, "bob").await.is_empty());
    let pruned = inbox.prune().await.unwrap();
    assert_eq!(
        pruned.dropped_by_age, 2,
        "alice's and bob's push 1; 2 was acknowledged"
    );
    assert_eq!(inbox.prune().await.unwrap().dropped_by_age, 0);
    assert_eq!(pending_ids(&*inbox, "alice").await, vec![id(3)]);
    backend.clock().advance(time::Duration::minutes(30));
    assert!(pending_ids(&*inbox, "alice").await.is_empty());
    assert_eq!(inbox.prune().await.unwrap().dropped_by_age, 1);
}

pub async fn pending_honours_its_limit(backend: &impl Backend) {
    let inbox = backend.open().await;
    let pushes: Vec<_> = (1..=10).map(|n| push(n, &["alice"])).collect();
    inbox.record(&pushes).await.unwrap();
    let first: Vec<_> = inbox
        .pending("alice", 4)
        .await
        .unwrap()
        .into_iter()
        .map(|entry| entry.message_id)
        .collect();
    assert_eq!(first, vec![id(1), id(2), id(3), id(4)]);
}

pub async fn entries_survive_reopening_and_other_instances_see_them(backend: &impl Backend) {
    let inbox = backend.open().await;
    inbox
        .record(&[push(1, &["alice"]), push(2, &["alice"])])
        .await
        .unwrap();
    inbox.acknowledge("alice", &[id(1)]).await.unwrap();
    drop(inbox);
    let reopened = backend.open().await;
    assert_eq!(pending_ids(&*reopened, "alice").await, vec![id(2)]);
    let other = backend.open().await;
    other.acknowledge("alice", &[id(2)]).await.unwrap();
    assert!(pending_ids(&*reopened, "alice").await.is_empty());
}

pub async fn pruning_a_backlog_larger_than_one_chunk_deletes_all_of_it(backend: &impl Backend) {
    let bounds = InboxBounds {
        max_age: Duration::from_secs(3600),
        max_per_user: 100_000,
    };
    let inbox = backend.open_with(bounds).await;
    let backlog = u128::from(orderflow_app::ports::PRUNE_CHUNK_ROWS) + 3;
    let pushes: Vec<_> = (1..=backlog).map(|n| push(n, &["alice"])).collect();
    for chunk in pushes.chunks(2_000) {
        inbox.record(chunk).await.unwrap();
    }
    backend.clock().advance(time::Duration::minutes(61));
    let pruned = inbox.prune().await.unwrap();
    assert_eq!(
        u128::from(pruned.dropped_by_age),
        backlog,
        "one prune deletes the whole backlog, chunk by chunk"
    );
    assert_eq!(inbox.prune().await.unwrap().dropped_by_age, 0);
}

pub async fn depth_counts_every_users_pending_entries_and_nothing_else(backend: &impl Backend) {
    let bounds = InboxBounds {
        max_age: Duration::from_secs(3600),
        max_per_user: 2,
    };
    let inbox = backend.open_with(bounds).await;
    assert_eq!(inbox.depth().await.unwrap(), 0);
    inbox
        .record(&[push(1, &["alice", "bob"]), push(2, &["alice"])])
        .await
        .unwrap();
    assert_eq!(inbox.depth().await.unwrap(), 3, "alice 1 and 2, bob 1");
    inbox.acknowledge("alice", &[id(1)]).await.unwrap();
    assert_eq!(inbox.depth().await.unwrap(), 2, "acknowledged: not counted");
    inbox
        .record(&[push(3, &["bob"]), push(4, &["bob"])])
        .await
        .unwrap();
    assert_eq!(
        inbox.depth().await.unwrap(),
        3,
        "bob's 1 dropped at the bound"
    );
    backend.clock().advance(time::Duration::minutes(61));
    assert_eq!(inbox.depth().await.unwrap(), 0, "past the age: not pending");
}
