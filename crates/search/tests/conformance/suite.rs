//! What every search index adapter must do. Each function is one test, run
//! against every adapter by `main.rs`.

use std::collections::{BTreeSet, HashSet};

use orderflow_app::ports::SearchScope;
use orderflow_app::ports::{
    IndexUpdate, OrderDocument, Position, ProjectionCheckpoint, SearchIndex, SearchPage,
    SearchQuery,
};
use orderflow_domain::testing::{order_id, user};
use orderflow_domain::{
    Currency, ItemName, Money, OrderId, OrderLine, OrderStatus, Quantity, Sku, UserId,
};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use crate::backends::Backend;

pub const T0: OffsetDateTime = datetime!(2026-03-01 12:00:00 UTC);

fn line(sku: &str, name: &str) -> OrderLine {
    let eur = Currency::parse("EUR").unwrap();
    OrderLine {
        sku: Sku::parse(sku).unwrap(),
        name: ItemName::parse(name).unwrap(),
        quantity: Quantity::parse(2).unwrap(),
        unit_price: Money::from_minor_units(1_250, eur).unwrap(),
    }
}

/// A pending order `n` of `buyer`, created `minutes` after [`T0`], with a
/// coffee line and a tea line.
pub fn document(n: u64, buyer: &str, minutes: i64) -> OrderDocument {
    let eur = Currency::parse("EUR").unwrap();
    let created_at = T0 + Duration::minutes(minutes);
    OrderDocument {
        order_id: order_id(n),
        buyer_id: user(buyer),
        status: OrderStatus::Pending,
        lines: vec![
            line("COFFEE-1", "Colombian coffee beans"),
            line("TEA-1", "Green tea"),
        ],
        total: Money::from_minor_units(5_000, eur).unwrap(),
        subscriber_ids: [user(buyer)].into(),
        created_at,
        updated_at: created_at,
        revision: 1,
    }
}

fn with_lines(mut document: OrderDocument, lines: &[(&str, &str)]) -> OrderDocument {
    document.lines = lines.iter().map(|(sku, name)| line(sku, name)).collect();
    document
}

fn confirmed(mut document: OrderDocument, revision: u64) -> OrderDocument {
    document.status = OrderStatus::Confirmed;
    document.updated_at = document.created_at + Duration::minutes(1);
    document.revision = revision;
    document
}

pub async fn put(index: &dyn SearchIndex, documents: Vec<OrderDocument>) {
    let update = IndexUpdate {
        documents,
        checkpoint: None,
    };
    index.apply(update).await.unwrap();
}

fn admin_query() -> SearchQuery {
    SearchQuery::new(SearchScope::Everyone)
}

fn ids(page: &SearchPage) -> Vec<OrderId> {
    page.items
        .iter()
        .map(|document| document.order_id)
        .collect()
}

async fn search_ids(index: &dyn SearchIndex, query: SearchQuery) -> BTreeSet<OrderId> {
    index
        .search(&query.with_limit(100).unwrap())
        .await
        .unwrap()
        .items
        .iter()
        .map(|document| document.order_id)
        .collect()
}

async fn text_ids(index: &dyn SearchIndex, text: &str) -> BTreeSet<OrderId> {
    search_ids(index, admin_query().with_text(text).unwrap()).await
}

fn set(ns: &[u64]) -> BTreeSet<OrderId> {
    ns.iter().map(|n| order_id(*n)).collect()
}

/// Every document the index holds, following cursors, newest first.
pub async fn all_documents(index: &dyn SearchIndex) -> Vec<OrderDocument> {
    let mut documents = Vec::new();
    let mut query = admin_query().with_limit(100).unwrap();
    loop {
        let page = index.search(&query).await.unwrap();
        documents.extend(page.items);
        match page.next_cursor {
            Some(cursor) => query = query.after(cursor),
            None => return documents,
        }
    }
}

pub async fn an_applied_document_reads_back_equal(backend: &dyn Backend) {
    let index = backend.open().await;
    let first = document(1, "alice", 0);
    let second = document(2, "bob", 1);
    put(&*index, vec![first.clone(), second.clone()]).await;
    assert_eq!(index.get(order_id(1)).await.unwrap(), Some(first.clone()));
    assert_eq!(index.get(order_id(3)).await.unwrap(), None);
    let mut many = index
        .get_many(&[order_id(2), order_id(3), order_id(1)])
        .await
        .unwrap();
    many.sort_by_key(|document| document.order_id);
    assert_eq!(many, [first, second]);
    assert!(index.get_many(&[]).await.unwrap().is_empty());
}

pub async fn a_document_at_an_older_or_equal_revision_is_ignored(backend: &dyn Backend) {
    let index = backend.open().await;
    let newer = confirmed(document(1, "alice", 0), 2);
    put(&*index, vec![newer.clone()]).await;
    put(&*index, vec![document(1, "alice", 0)]).await;
    let mut same_revision = document(1, "alice", 0);
    same_revision.revision = 2;
    put(&*index, vec![same_revision]).await;
    assert_eq!(index.get(order_id(1)).await.unwrap(), Some(newer.clone()));

    let mut newest = newer;
    newest.subscriber_ids.insert(user("carol"));
    newest.revision = 3;
    put(&*index, vec![newest.clone()]).await;
    assert_eq!(index.get(order_id(1)).await.unwrap(), Some(newest));
    let page = index.search(&admin_query()).await.unwrap();
    assert_eq!(page.total, 1, "an update replaces, never duplicates");
}

pub async fn within_one_update_the_newest_revision_of_an_order_wins(backend: &dyn Backend) {
    let index = backend.open().await;
    let newer = confirmed(document(1, "alice", 0), 2);
    put(&*index, vec![newer.clone(), document(1, "alice", 0)]).await;
    assert_eq!(index.get(order_id(1)).await.unwrap(), Some(newer));
}

pub async fn timestamps_are_kept_to_the_microsecond(backend: &dyn Backend) {
    let index = backend.open().await;
    let mut precise = document(1, "alice", 0);
    precise.created_at = datetime!(2026-03-01 12:00:00.123456789 UTC);
    precise.updated_at = datetime!(2026-03-01 12:00:01.999999999 UTC);
    put(&*index, vec![precise]).await;
    let stored = index.get(order_id(1)).await.unwrap().unwrap();
    assert_eq!(stored.created_at, datetime!(2026-03-01 12:00:00.123456 UTC));
    assert_eq!(stored.updated_at, datetime!(2026-03-01 12:00:01.999999 UTC));
}

pub async fn searching_by_status_finds_only_that_status(backend: &dyn Backend) {
    let index = backend.open().await;
    put(
        &*index,
        vec![
            document(1, "alice", 0),
            confirmed(document(2, "alice", 1), 2),
            document(3, "bob", 2),
        ],
    )
    .await;
    let pending = admin_query().with_status(OrderStatus::Pending);
    assert_eq!(search_ids(&*index, pending).await, set(&[1, 3]));
    let done = admin_query().with_status(OrderStatus::Confirmed);
    assert_eq!(search_ids(&*index, done).await, set(&[2]));
    let cancelled = admin_query().with_status(OrderStatus::Cancelled);
    assert_eq!(search_ids(&*index, cancelled).await, set(&[]));
}

pub async fn text_matches_words_of_item_names_case_insensitively(backend: &dyn Backend) {
    let index = backend.open().await;
    put(
        &*index,
        vec![
            document(1, "alice", 0),
            with_lines(document(2, "alice", 1), &[("MUG-7", "Espresso mug, white")]),
        ],
    )
    .await;
    assert_eq!(text_ids(&*index, "BEANS").await, set(&[1]));
    assert_eq!(text_ids(&*index, "beans,").await, set(&[1]));
    assert_eq!(text_ids(&*index, "Mug").await, set(&[2]));
    assert_eq!(text_ids(&*index, "white").await, set(&[2]));
    assert_eq!(
        text_ids(&*index, "bean").await,
        set(&[]),
        "whole words only"
    );
}

pub async fn every_word_of_the_text_must_match(backend: &dyn Backend) {
    let index = backend.open().await;
    put(
        &*index,
        vec![
            document(1, "alice", 0),
            with_lines(document(2, "alice", 1), &[("BEANS-2", "Kidney beans")]),
        ],
    )
    .await;
    assert_eq!(text_ids(&*index, "beans").await, set(&[1, 2]));
    assert_eq!(text_ids(&*index, "coffee beans").await, set(&[1]));
    assert_eq!(text_ids(&*index, "green kidney").await, set(&[]));
}

pub async fn text_matches_skus_whole_and_case_insensitively(backend: &dyn Backend) {
    let index = backend.open().await;
    put(
        &*index,
        vec![
            document(1, "alice", 0),
            with_lines(document(2, "alice", 1), &[("sku.X_9", "Gift card")]),
        ],
    )
    .await;
    assert_eq!(text_ids(&*index, "COFFEE-1").await, set(&[1]));
    assert_eq!(text_ids(&*index, "coffee-1").await, set(&[1]));
    assert_eq!(text_ids(&*index, "SKU.x_9").await, set(&[2]));
    assert_eq!(text_ids(&*index, "COFFEE-2").await, set(&[]));
}

pub async fn text_matches_the_order_id_in_any_spelling(backend: &dyn Backend) {
    let index = backend.open().await;
    put(
        &*index,
        vec![document(1, "alice", 0), document(2, "bob", 1)],
    )
    .await;
    let id = order_id(2).to_string();
    assert_eq!(text_ids(&*index, &id).await, set(&[2]));
    assert_eq!(text_ids(&*index, &id.to_uppercase()).await, set(&[2]));
    assert_eq!(text_ids(&*index, &id.replace('-', "")).await, set(&[2]));
}

pub async fn a_buyer_never_sees_another_buyers_orders(backend: &dyn Backend) {
    let index = backend.open().await;
    put(
        &*index,
        vec![
            document(1, "alice", 0),
            document(2, "bob", 1),
            document(3, "alice", 2),
        ],
    )
    .await;
    let alice = SearchQuery::new(SearchScope::Buyer(UserId::parse("alice").unwrap()));
    assert_eq!(search_ids(&*index, alice.clone()).await, set(&[1, 3]));
    let bobs_id = order_id(2).to_string();
    let snooping = alice.clone().with_text(&bobs_id).unwrap();
    assert_eq!(search_ids(&*index, snooping).await, set(&[]));
    assert!(alice.with_buyer(user("bob")).is_err());
    let page = index
        .search(&SearchQuery::new(SearchScope::Buyer(
            UserId::parse("carol").unwrap(),
        )))
        .await
        .unwrap();
    assert_eq!((page.items.len(), page.total), (0, 0));
    let bob_for_admin = admin_query().with_buyer(user("bob")).unwrap();
    assert_eq!(search_ids(&*index, bob_for_admin).await, set(&[2]));
}

pub async fn the_created_range_includes_from_and_excludes_to(backend: &dyn Backend) {
    let index = backend.open().await;
    put(
        &*index,
        (0..5)
            .map(|n| document(n, "alice", n as i64 * 10))
            .collect(),
    )
    .await;
    let between = |from: Option<i64>, to: Option<i64>| {
        let at = |minutes: i64| T0 + Duration::minutes(minutes);
        admin_query()
            .with_created_between(from.map(at), to.map(at))
            .unwrap()
    };
    assert_eq!(
        search_ids(&*index, between(Some(10), Some(30))).await,
        set(&[1, 2])
    );
    assert_eq!(
        search_ids(&*index, between(Some(25), None)).await,
        set(&[3, 4])
    );
    assert_eq!(
        search_ids(&*index, between(None, Some(10))).await,
        set(&[0])
    );
}

pub async fn results_are_newest_first_with_the_order_id_breaking_ties(backend: &dyn Backend) {
    let index = backend.open().await;
    put(
        &*index,
        vec![
            document(1, "alice", 0),
            document(2, "alice", 5),
            document(3, "alice", 5),
            document(4, "alice", -5),
        ],
    )
    .await;
    let page = index.search(&admin_query()).await.unwrap();
    assert_eq!(
        ids(&page),
        [order_id(3), order_id(2), order_id(1), order_id(4)]
    );
    assert_eq!(page.next_cursor, None);
}

pub async fn following_cursors_visits_every_document_exactly_once(backend: &dyn Backend) {
    let index = backend.open().await;
    // 250 orders over 100 distinct instants: ties on created_at on every page.
    let documents: Vec<OrderDocument> = (0..250)
        .map(|n| {
            let buyer = if n % 2 == 0 { "alice" } else { "bob" };
            document(n, buyer, (n % 100) as i64)
        })
        .collect();
    put(&*index, documents).await;
    let mut query = admin_query().with_limit(20).unwrap();
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let page = index.search(&query).await.unwrap();
        pages += 1;
        assert_eq!(
            page.total, 250,
            "the total counts every match, on every page"
        );
        assert!(page.items.len() <= 20);
        seen.extend(page.items.iter().map(|d| (d.created_at, d.order_id)));
        match page.next_cursor {
            Some(cursor) => query = query.after(cursor),
            None => break,
        }
    }
    assert_eq!(pages, 13);
    let unique: HashSet<_> = seen.iter().collect();
    assert_eq!((seen.len(), unique.len()), (250, 250));
    let mut newest_first = seen.clone();
    newest_first.sort_by(|a, b| b.cmp(a));
    assert_eq!(seen, newest_first);

    let alice = SearchQuery::new(SearchScope::Buyer(UserId::parse("alice").unwrap()));
    let mut query = alice.with_limit(7).unwrap();
    let mut alice_seen = HashSet::new();
    loop {
        let page = index.search(&query).await.unwrap();
        assert_eq!(page.total, 125);
        for document in &page.items {
            assert_eq!(document.buyer_id, user("alice"));
            assert!(alice_seen.insert(document.order_id));
        }
        match page.next_cursor {
            Some(cursor) => query = query.after(cursor),
            None => break,
        }
    }
    assert_eq!(alice_seen.len(), 125);
}

pub async fn a_page_that_ends_exactly_at_the_last_match_has_no_cursor(backend: &dyn Backend) {
    let index = backend.open().await;
    put(&*index, (0..4).map(|n| document(n, "alice", 0)).collect()).await;
    let page = index
        .search(&admin_query().with_limit(4).unwrap())
        .await
        .unwrap();
    assert_eq!(
        (page.items.len(), page.total, page.next_cursor),
        (4, 4, None)
    );
    let page = index
        .search(&admin_query().with_limit(3).unwrap())
        .await
        .unwrap();
    let cursor = page.next_cursor.expect("one more follows");
    let rest = index.search(&admin_query().after(cursor)).await.unwrap();
    assert_eq!(
        (rest.items.len(), rest.total, rest.next_cursor),
        (1, 4, None)
    );
}

pub async fn checkpoints_commit_with_documents_and_only_move_forward(backend: &dyn Backend) {
    let index = backend.open().await;
    assert_eq!(index.checkpoint("search").await.unwrap(), Position::START);
    let checkpoint = |position| {
        Some(ProjectionCheckpoint {
            projection: "search".into(),
            position: Position::new(position),
        })
    };
    index
        .apply(IndexUpdate {
            documents: vec![document(1, "alice", 0)],
            checkpoint: checkpoint(7),
        })
        .await
        .unwrap();
    assert_eq!(index.checkpoint("search").await.unwrap(), Position::new(7));
    assert_eq!(index.checkpoint("other").await.unwrap(), Position::START);
    index
        .apply(IndexUpdate {
            documents: Vec::new(),
            checkpoint: checkpoint(5),
        })
        .await
        .unwrap();
    assert_eq!(index.checkpoint("search").await.unwrap(), Position::new(7));
    index
        .apply(IndexUpdate {
            documents: Vec::new(),
            checkpoint: checkpoint(9),
        })
        .await
        .unwrap();
    assert_eq!(index.checkpoint("search").await.unwrap(), Position::new(9));
    assert!(index.get(order_id(1)).await.unwrap().is_some());
}

pub async fn documents_and_checkpoints_survive_reopening(backend: &dyn Backend) {
    let index = backend.open().await;
    index
        .apply(IndexUpdate {
            documents: vec![document(1, "alice", 0)],
            checkpoint: Some(ProjectionCheckpoint {
                projection: "search".into(),
                position: Position::new(3),
            }),
        })
        .await
        .unwrap();
    drop(index);
    let reopened = backend.open().await;
    assert_eq!(
        reopened.checkpoint("search").await.unwrap(),
        Position::new(3)
    );
    assert_eq!(
        reopened.get(order_id(1)).await.unwrap(),
        Some(document(1, "alice", 0))
    );
}

pub async fn clearing_removes_every_document_and_checkpoint(backend: &dyn Backend) {
    let index = backend.open().await;
    index
        .apply(IndexUpdate {
            documents: (0..10).map(|n| document(n, "alice", 0)).collect(),
            checkpoint: Some(ProjectionCheckpoint {
                projection: "search".into(),
                position: Position::new(20),
            }),
        })
        .await
        .unwrap();
    index.clear().await.unwrap();
    let page = index.search(&admin_query()).await.unwrap();
    assert_eq!((page.items.len(), page.total), (0, 0));
    assert_eq!(index.checkpoint("search").await.unwrap(), Position::START);
    assert_eq!(index.get(order_id(1)).await.unwrap(), None);
    put(&*index, vec![document(1, "alice", 0)]).await;
    assert_eq!(index.search(&admin_query()).await.unwrap().total, 1);
}

/// Buyers in documents are plain ids: a query names them exactly.
pub async fn buyer_ids_match_exactly(backend: &dyn Backend) {
    let index = backend.open().await;
    let spaced = UserId::parse("Alice Smith").unwrap();
    let mut document = document(1, "alice", 0);
    document.buyer_id = spaced.clone();
    put(&*index, vec![document]).await;
    let exact = admin_query().with_buyer(spaced).unwrap();
    assert_eq!(search_ids(&*index, exact).await, set(&[1]));
    let lower = admin_query().with_buyer(user("alice smith")).unwrap();
    assert_eq!(search_ids(&*index, lower).await, set(&[]));
}
