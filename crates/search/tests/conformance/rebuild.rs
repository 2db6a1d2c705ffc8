//! Rebuilding an index while it serves, on every adapter with its own maker
//! of fresh indexes (tantivy directories, PostgreSQL generations). Each
//! function is one test, run by `main.rs`.

use std::sync::Arc;
use std::time::Duration;

use orderflow_app::orders::search::{RebuildControl, RebuildStatus};
use orderflow_app::ports::{EventStore, SearchIndex};
use orderflow_app::projections::search::rebuild::{
    BatchGate, Gated, SearchRebuilds, SwappableIndex, rebuild_into,
};
use orderflow_app::projections::search::{SEARCH_PROJECTION, subscribe};

use crate::backends::{Backend, EventStoreFixture};
use crate::projection::{Running, caught_up, config, confirm, create};
use crate::suite::all_documents;

async fn rebuilt(rebuilds: &SearchRebuilds) {
    for _ in 0..500 {
        match rebuilds.status() {
            RebuildStatus::Running => tokio::time::sleep(Duration::from_millis(20)).await,
            RebuildStatus::Done { .. } => return,
            other => panic!("the rebuild did not finish: {other:?}"),
        }
    }
    panic!("the rebuild did not finish in 10 s");
}

pub async fn a_rebuild_swaps_in_an_equal_index_that_keeps_following_and_a_reopen_finds(
    backend: &dyn Backend,
) {
    let events = EventStoreFixture::new().await;
    let store: Arc<dyn EventStore> = events.store.clone();
    for n in 1..=30 {
        create(&*store, n, if n % 2 == 0 { "alice" } else { "bob" }).await;
    }
    for n in 1..=10 {
        confirm(&*store, n).await;
    }
    let (index, fresh) = backend.open_rebuildable().await;
    let live = Arc::new(SwappableIndex::new(index.clone()));
    let gate = BatchGate::default();
    let (subscription, projection) =
        subscribe(store.clone(), live.clone(), config(SEARCH_PROJECTION))
            .await
            .unwrap();
    let running = Running::start(subscription, Gated::new(projection, gate.clone()));
    caught_up(&*store, &*live, SEARCH_PROJECTION).await;
    let before = all_documents(&*live).await;
    assert_eq!(before.len(), 30);

    let rebuilds = SearchRebuilds::new(store.clone(), live.clone(), gate, fresh);
    assert!(rebuilds.start());
    rebuilt(&rebuilds).await;

    assert!(
        !Arc::ptr_eq(&live.current(), &index),
        "a fresh index is in use"
    );
    assert_eq!(all_documents(&*live).await, before);
    // The live projection continues on the fresh index.
    create(&*store, 31, "alice").await;
    confirm(&*store, 30).await;
    caught_up(&*store, &*live, SEARCH_PROJECTION).await;
    let after = all_documents(&*live).await;
    assert_eq!(after.len(), 31);

    // Reopening opens the rebuilt index, not the replaced one.
    running.stop().await;
    drop((rebuilds, live, index));
    tokio::time::sleep(Duration::from_millis(100)).await;
    let reopened = backend.open().await;
    assert_eq!(all_documents(&*reopened).await, after);
    assert_eq!(
        reopened.checkpoint(SEARCH_PROJECTION).await.unwrap(),
        store.head().await.unwrap()
    );
}

pub async fn rebuilding_twice_in_a_row_gives_the_same_index(backend: &dyn Backend) {
    let events = EventStoreFixture::new().await;
    let store: Arc<dyn EventStore> = events.store.clone();
    for n in 1..=12 {
        create(&*store, n, "alice").await;
    }
    confirm(&*store, 3).await;
    let (index, fresh) = backend.open_rebuildable().await;
    let live = Arc::new(SwappableIndex::new(index as Arc<dyn SearchIndex>));
    let rebuilds = SearchRebuilds::new(store.clone(), live.clone(), BatchGate::default(), fresh);
    assert!(rebuilds.start());
    rebuilt(&rebuilds).await;
    let first = all_documents(&*live).await;
    assert_eq!(first.len(), 12);
    assert!(rebuilds.start());
    rebuilt(&rebuilds).await;
    assert_eq!(all_documents(&*live).await, first);
}

pub async fn a_rebuild_swaps_in_a_fresh_index_holding_what_the_live_one_held(
    backend: &dyn Backend,
) {
    let events = EventStoreFixture::new().await;
    let store: Arc<dyn EventStore> = events.store.clone();
    for n in 1..=5 {
        create(&*store, n, "alice").await;
    }
    let head = store.head().await.unwrap();
    let (empty, fresh_indexes) = backend.open_rebuildable().await;
    let live = SwappableIndex::new(empty);
    let gate = BatchGate::default();
    let old = fresh_indexes.create().await.unwrap();
    let (_, replaced) = rebuild_into(store.clone(), &live, &gate, old.clone())
        .await
        .unwrap();
    fresh_indexes.installed(replaced).await.unwrap();
    let before = all_documents(&live).await;
    assert_eq!(before.len(), 5);

    let fresh = fresh_indexes.create().await.unwrap();
    let (report, replaced) = rebuild_into(store.clone(), &live, &gate, fresh.clone())
        .await
        .unwrap();

    assert!(Arc::ptr_eq(&replaced, &old));
    assert!(Arc::ptr_eq(&live.current(), &fresh));
    assert_eq!(report.position, head);
    assert_eq!(all_documents(&live).await, before);
    assert_eq!(live.checkpoint(SEARCH_PROJECTION).await.unwrap(), head);
}
