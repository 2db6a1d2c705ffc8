//! What every read model adapter must do: the promises of
//! `orderflow_app::ports::read_model`. Each function is one test, run against
//! every adapter by `main.rs`.

use std::collections::HashSet;
use std::sync::Arc;

use orderflow_app::ports::{
    CreatedOrder, GatewayOrder, GatewayOrderLine, OrderListCursor, OrderListPage, OrderListQuery,
    OrderReadModel, StatusChange,
};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::backends::Backend;

pub const T0: OffsetDateTime = datetime!(2026-03-01 12:00:00 UTC);

pub fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

fn line(sku: &str, name: &str, quantity: u32, unit_price: &str, total: &str) -> GatewayOrderLine {
    GatewayOrderLine {
        sku: sku.into(),
        name: name.into(),
        quantity,
        unit_price: unit_price.into(),
        line_total: total.into(),
    }
}

/// Order `order` of `buyer`, created `minutes` after [`T0`].
pub fn created(order: Uuid, buyer: &str, minutes: i64) -> CreatedOrder {
    CreatedOrder {
        id: order,
        buyer_id: buyer.into(),
        currency: "EUR".into(),
        items: vec![
            line("COFFEE-1", "Colombian coffee beans", 2, "12.50", "25.00"),
            line("TEA-1", "Grüner Tee «Sencha»", 1, "4.20", "4.20"),
        ],
        total: "29.20".into(),
        created_at: T0 + Duration::minutes(minutes),
    }
}

fn confirmed(order: Uuid, revision: u64, at: OffsetDateTime) -> StatusChange {
    StatusChange {
        id: order,
        status: "confirmed".into(),
        cancellation_reason: None,
        revision,
        at,
    }
}

fn cancelled(order: Uuid, revision: u64, reason: &str, at: OffsetDateTime) -> StatusChange {
    StatusChange {
        id: order,
        status: "cancelled".into(),
        cancellation_reason: Some(reason.into()),
        revision,
        at,
    }
}

/// The order as it must read right after its creation.
fn pending(order: &CreatedOrder) -> GatewayOrder {
    GatewayOrder {
        id: order.id,
        buyer_id: order.buyer_id.clone(),
        status: "pending".into(),
        currency: order.currency.clone(),
        items: order.items.clone(),
        total: order.total.clone(),
        cancellation_reason: None,
        created_at: order.created_at,
        updated_at: order.created_at,
        revision: 0,
    }
}

/// `order` after `change`.
fn changed(mut order: GatewayOrder, change: &StatusChange) -> GatewayOrder {
    order.status = change.status.clone();
    order.cancellation_reason = change.cancellation_reason.clone();
    order.updated_at = change.at;
    order.revision = change.revision;
    order
}

fn query(buyer: Option<&str>, limit: u32, after: Option<OrderListCursor>) -> OrderListQuery {
    OrderListQuery {
        buyer: buyer.map(str::to_owned),
        limit,
        after,
    }
}

async fn page(model: &dyn OrderReadModel, buyer: Option<&str>, limit: u32) -> OrderListPage {
    model.list(&query(buyer, limit, None)).await.unwrap()
}

fn ids(orders: &[GatewayOrder]) -> Vec<Uuid> {
    orders.iter().map(|order| order.id).collect()
}

/// Every page of a list, following `next` until it is `None`.
async fn every_page(
    model: &dyn OrderReadModel,
    buyer: Option<&str>,
    limit: u32,
) -> Vec<OrderListPage> {
    let mut pages: Vec<OrderListPage> = Vec::new();
    let mut after = None;
    loop {
        let page = model.list(&query(buyer, limit, after)).await.unwrap();
        after = page.next;
        pages.push(page);
        assert!(pages.len() <= 1_000, "the cursors never end");
        if after.is_none() {
            return pages;
        }
    }
}

fn concatenated(pages: &[OrderListPage]) -> Vec<Uuid> {
    pages.iter().flat_map(|page| ids(&page.items)).collect()
}

/// Ids sorted the way lists must come: newest first, then id descending.
fn newest_first(orders: &[CreatedOrder]) -> Vec<Uuid> {
    let mut sorted: Vec<(OffsetDateTime, Uuid)> = orders
        .iter()
        .map(|order| (order.created_at, order.id))
        .collect();
    sorted.sort_by(|a, b| b.cmp(a));
    sorted.into_iter().map(|(_, id)| id).collect()
}

async fn record_all(model: &dyn OrderReadModel, orders: &[CreatedOrder]) {
    for order in orders {
        model.record_created(order).await.unwrap();
    }
}

pub async fn a_created_order_reads_back_with_every_field(backend: &impl Backend) {
    let model = backend.open().await;
    let order = created(id(1), "alice", 0);

    model.record_created(&order).await.unwrap();

    let expected = pending(&order);
    assert_eq!(model.get(order.id).await.unwrap(), Some(expected.clone()));
    assert_eq!(page(&*model, None, 10).await.items, vec![expected]);
    assert_eq!(model.get(id(2)).await.unwrap(), None);
}

pub async fn recording_a_creation_again_changes_nothing(backend: &impl Backend) {
    let model = backend.open().await;
    let order = created(id(1), "alice", 0);
    let confirmation = confirmed(order.id, 1, T0 + Duration::minutes(1));
    model.record_created(&order).await.unwrap();
    model.record_status(&confirmation).await.unwrap();

    model.record_created(&order).await.unwrap();
    let mut different = created(order.id, "mallory", 30);
    different.total = "0.01".into();
    model.record_created(&different).await.unwrap();

    let expected = changed(pending(&order), &confirmation);
    assert_eq!(model.get(order.id).await.unwrap(), Some(expected.clone()));
    let listed = page(&*model, None, 10).await;
    assert_eq!(listed.items, vec![expected]);
    assert!(page(&*model, Some("mallory"), 10).await.items.is_empty());
}

pub async fn a_status_that_arrives_before_the_creation_is_kept_and_wins(backend: &impl Backend) {
    let model = backend.open().await;
    let order = created(id(1), "alice", 0);
    let confirmation = confirmed(order.id, 1, T0 + Duration::minutes(5));

    model.record_status(&confirmation).await.unwrap();
    assert_eq!(model.get(order.id).await.unwrap(), None);
    model.record_created(&order).await.unwrap();

    let expected = changed(pending(&order), &confirmation);
    assert_eq!(expected.status, "confirmed");
    assert_eq!(expected.updated_at, T0 + Duration::minutes(5));
    assert_eq!(model.get(order.id).await.unwrap(), Some(expected.clone()));
    assert_eq!(page(&*model, Some("alice"), 10).await.items, vec![expected]);
}

pub async fn a_status_at_an_older_or_equal_revision_is_ignored(backend: &impl Backend) {
    let model = backend.open().await;
    let order = created(id(1), "alice", 0);
    let cancellation = cancelled(order.id, 2, "changed my mind", T0 + Duration::minutes(2));
    model.record_created(&order).await.unwrap();
    model.record_status(&cancellation).await.unwrap();

    model
        .record_status(&confirmed(order.id, 1, T0 + Duration::minutes(1)))
        .await
        .unwrap();
    model
        .record_status(&confirmed(order.id, 2, T0 + Duration::minutes(3)))
        .await
        .unwrap();

    let expected = changed(pending(&order), &cancellation);
    assert_eq!(model.get(order.id).await.unwrap(), Some(expected));

    // The same holds while the creation has not arrived yet.
    let early = created(id(2), "alice", 1);
    let newest = confirmed(early.id, 3, T0 + Duration::minutes(3));
    model.record_status(&newest).await.unwrap();
    model
        .record_status(&cancelled(
            early.id,
            2,
            "too late",
            T0 + Duration::minutes(2),
        ))
        .await
        .unwrap();
    model.record_created(&early).await.unwrap();
    assert_eq!(
        model.get(early.id).await.unwrap(),
        Some(changed(pending(&early), &newest))
    );
}

pub async fn a_status_at_revision_zero_changes_nothing(backend: &impl Backend) {
    let model = backend.open().await;
    let first = created(id(1), "alice", 0);
    let second = created(id(2), "alice", 1);

    // Before its creation and after it: either way the order stays pending,
    // so the outcome does not depend on the order of arrival.
    model
        .record_status(&confirmed(first.id, 0, T0 + Duration::minutes(1)))
        .await
        .unwrap();
    model.record_created(&first).await.unwrap();
    model.record_created(&second).await.unwrap();
    model
        .record_status(&confirmed(second.id, 0, T0 + Duration::minutes(2)))
        .await
        .unwrap();

    assert_eq!(model.get(first.id).await.unwrap(), Some(pending(&first)));
    assert_eq!(model.get(second.id).await.unwrap(), Some(pending(&second)));
}

pub async fn a_cancelled_order_keeps_its_reason(backend: &impl Backend) {
    let model = backend.open().await;
    let order = created(id(1), "alice", 0);
    let other = created(id(2), "alice", 1);
    let cancellation = cancelled(
        order.id,
        1,
        "out of stock: «Sencha»",
        T0 + Duration::hours(1),
    );
    model.record_created(&order).await.unwrap();
    model.record_created(&other).await.unwrap();

    model.record_status(&cancellation).await.unwrap();
    model
        .record_status(&confirmed(other.id, 1, T0 + Duration::hours(1)))
        .await
        .unwrap();

    let found = model.get(order.id).await.unwrap().unwrap();
    assert_eq!(found.status, "cancelled");
    assert_eq!(
        found.cancellation_reason.as_deref(),
        Some("out of stock: «Sencha»")
    );
    assert_eq!(found, changed(pending(&order), &cancellation));
    let listed = page(&*model, None, 10).await.items;
    assert_eq!(listed[1], found);
    assert_eq!(listed[0].cancellation_reason, None);
}

pub async fn an_order_whose_creation_has_not_arrived_is_invisible(backend: &impl Backend) {
    let model = backend.open().await;
    let visible = created(id(2), "alice", 0);
    model
        .record_status(&confirmed(id(1), 1, T0 + Duration::minutes(9)))
        .await
        .unwrap();
    model
        .record_status(&cancelled(id(3), 2, "no", T0 + Duration::minutes(9)))
        .await
        .unwrap();
    model.record_created(&visible).await.unwrap();

    assert_eq!(model.get(id(1)).await.unwrap(), None);
    assert_eq!(model.get(id(3)).await.unwrap(), None);
    for buyer in [None, Some("alice")] {
        let pages = every_page(&*model, buyer, 1).await;
        assert_eq!(pages.len(), 1, "hidden orders must not make another page");
        assert_eq!(concatenated(&pages), vec![visible.id]);
    }
}

/// One delivered integration event.
#[derive(Clone)]
enum Change {
    Created(CreatedOrder),
    Status(StatusChange),
}

impl Change {
    async fn apply(&self, model: &dyn OrderReadModel) {
        match self {
            Change::Created(order) => model.record_created(order).await.unwrap(),
            Change::Status(change) => model.record_status(change).await.unwrap(),
        }
    }
}

/// An order's life: created, confirmed, then cancelled; and how it must end.
fn life(order: Uuid) -> (Vec<Change>, GatewayOrder) {
    let creation = created(order, "alice", 0);
    let confirmation = confirmed(order, 1, T0 + Duration::minutes(1));
    let cancellation = cancelled(order, 2, "refunded", T0 + Duration::minutes(2));
    let expected = changed(pending(&creation), &cancellation);
    let changes = vec![
        Change::Created(creation),
        Change::Status(confirmation),
        Change::Status(cancellation),
    ];
    (changes, expected)
}

pub async fn any_order_and_any_repetition_of_changes_gives_the_same_row(backend: &impl Backend) {
    let model = backend.open().await;
    let permutations = [
        [0, 1, 2],
        [0, 2, 1],
        [1, 0, 2],
        [1, 2, 0],
        [2, 0, 1],
        [2, 1, 0],
    ];
    for (n, permutation) in permutations.iter().enumerate() {
        let (changes, expected) = life(id(n as u128 + 1));
        for index in permutation {
            changes[*index].apply(&*model).await;
        }
        assert_eq!(
            model.get(expected.id).await.unwrap().as_ref(),
            Some(&expected)
        );
        // Delivered again, backwards: nothing moves.
        for index in permutation.iter().rev() {
            changes[*index].apply(&*model).await;
        }
        assert_eq!(model.get(expected.id).await.unwrap(), Some(expected));
    }
}

pub async fn concurrent_deliveries_of_one_orders_changes_converge(backend: &impl Backend) {
    let model = backend.open().await;
    let lives: Vec<(Vec<Change>, GatewayOrder)> = (1..=20).map(|n| life(id(n))).collect();

    let mut tasks = Vec::new();
    for (changes, _) in &lives {
        // Every change three times, all at once, on any worker thread.
        for _ in 0..3 {
            for change in changes {
                let model: Arc<dyn OrderReadModel> = Arc::clone(&model);
                let change = change.clone();
                tasks.push(tokio::spawn(async move { change.apply(&*model).await }));
            }
        }
    }
    for task in tasks {
        task.await.unwrap();
    }

    for (_, expected) in lives {
        assert_eq!(model.get(expected.id).await.unwrap(), Some(expected));
    }
}

pub async fn a_buyer_lists_only_their_own_orders_and_admins_list_all(backend: &impl Backend) {
    let model = backend.open().await;
    let orders = vec![
        created(id(1), "alice", 0),
        created(id(2), "bob", 1),
        created(id(3), "alice", 2),
        created(id(4), "Alice", 3),
        created(id(5), "alice-2", 4),
        created(id(6), "bob", 5),
    ];
    record_all(&*model, &orders).await;

    let alices = page(&*model, Some("alice"), 50).await;
    assert_eq!(ids(&alices.items), vec![id(3), id(1)]);
    assert!(alices.items.iter().all(|order| order.buyer_id == "alice"));
    assert_eq!(alices.next, None);
    assert_eq!(
        ids(&page(&*model, Some("bob"), 50).await.items),
        vec![id(6), id(2)]
    );
    assert!(page(&*model, Some("nobody"), 50).await.items.is_empty());
    assert_eq!(
        ids(&page(&*model, None, 50).await.items),
        newest_first(&orders)
    );
}

pub async fn lists_are_newest_first_with_the_order_id_breaking_ties(backend: &impl Backend) {
    let model = backend.open().await;
    // Ids that differ in their first byte, one with the high bit set, so a
    // signed or textual comparison would sort them differently.
    let low = Uuid::from_u128(0x0100_0000_0000_0000_0000_0000_0000_00ff);
    let high = Uuid::from_u128(0xff00_0000_0000_0000_0000_0000_0000_0001);
    let orders = vec![
        created(id(1), "alice", 0),
        created(high, "alice", 5),
        created(id(4), "alice", 10),
        created(low, "bob", 5),
        created(id(5), "alice", -3),
    ];
    record_all(&*model, &orders).await;

    let expected = vec![id(4), high, low, id(1), id(5)];
    assert_eq!(newest_first(&orders), expected);
    assert_eq!(ids(&page(&*model, None, 10).await.items), expected);
    assert_eq!(
        ids(&page(&*model, Some("alice"), 10).await.items),
        vec![id(4), high, id(1), id(5)]
    );
}

pub async fn following_next_visits_every_order_exactly_once(backend: &impl Backend) {
    let model = backend.open().await;
    // Seven orders, two of them created at the very same instant.
    let orders: Vec<CreatedOrder> = [(1, 0), (2, 1), (3, 2), (4, 2), (5, 3), (6, 4), (7, 6)]
        .into_iter()
        .map(|(n, minutes)| created(id(n), "alice", minutes))
        .collect();
    record_all(&*model, &orders).await;

    let pages = every_page(&*model, None, 3).await;

    let sizes: Vec<usize> = pages.iter().map(|page| page.items.len()).collect();
    assert_eq!(sizes, vec![3, 3, 1]);
    let visited = concatenated(&pages);
    assert_eq!(visited, newest_first(&orders));
    assert_eq!(visited.iter().collect::<HashSet<_>>().len(), orders.len());
    // The tie falls across the page boundary: ids 4 then 3, both visited.
    assert_eq!(ids(&pages[0].items), vec![id(7), id(6), id(5)]);
    assert_eq!(ids(&pages[1].items), vec![id(4), id(3), id(2)]);
    assert_eq!(
        pages[0].next,
        Some(OrderListCursor {
            created_at: T0 + Duration::minutes(3),
            id: id(5),
        })
    );
}

pub async fn following_next_within_one_buyer_stays_within_that_buyer(backend: &impl Backend) {
    let model = backend.open().await;
    let orders: Vec<CreatedOrder> = (1..=10)
        .map(|n| created(id(n), if n % 2 == 0 { "alice" } else { "bob" }, n as i64))
        .collect();
    record_all(&*model, &orders).await;

    let pages = every_page(&*model, Some("alice"), 2).await;

    assert_eq!(pages.len(), 3);
    assert_eq!(
        concatenated(&pages),
        vec![id(10), id(8), id(6), id(4), id(2)]
    );
}

pub async fn a_page_that_ends_exactly_at_the_last_order_has_no_next(backend: &impl Backend) {
    let model = backend.open().await;
    let orders: Vec<CreatedOrder> = (1..=6).map(|n| created(id(n), "alice", n as i64)).collect();
    record_all(&*model, &orders).await;

    let pages = every_page(&*model, None, 3).await;
    assert_eq!(pages.len(), 2);
    assert_eq!(pages[1].items.len(), 3);
    assert_eq!(pages[1].next, None);

    let whole = page(&*model, None, 6).await;
    assert_eq!(whole.items.len(), 6);
    assert_eq!(whole.next, None);
    assert!(page(&*model, None, 5).await.next.is_some());
}

pub async fn limits_are_clamped_to_one_and_the_maximum(backend: &impl Backend) {
    let model = backend.open().await;
    let count = OrderListQuery::MAX_LIMIT as usize + 5;
    let orders: Vec<CreatedOrder> = (1..=count as u128)
        .map(|n| created(id(n), "alice", n as i64))
        .collect();
    futures::future::join_all(orders.iter().map(|order| model.record_created(order)))
        .await
        .into_iter()
        .collect::<Result<Vec<()>, _>>()
        .unwrap();

    let smallest = page(&*model, None, 0).await;
    assert_eq!(ids(&smallest.items), vec![id(count as u128)]);
    assert!(smallest.next.is_some());

    let largest = page(&*model, Some("alice"), u32::MAX).await;
    assert_eq!(largest.items.len(), OrderListQuery::MAX_LIMIT as usize);
    let rest = model
        .list(&query(Some("alice"), u32::MAX, largest.next))
        .await
        .unwrap();
    assert_eq!(rest.items.len(), 5);
    assert_eq!(rest.next, None);
}

pub async fn timestamps_are_kept_to_the_microsecond(backend: &impl Backend) {
    let model = backend.open().await;
    let mut order = created(id(1), "alice", 0);
    order.created_at = datetime!(2026-03-01 14:00:00.123_456_789 +02:00);
    let mut old = created(id(2), "alice", 0);
    old.created_at = datetime!(1969-12-31 23:59:59.999_999_5 UTC);
    let confirmation = confirmed(order.id, 1, datetime!(2026-03-01 12:00:01.000_000_999 UTC));
    model.record_created(&order).await.unwrap();
    model.record_created(&old).await.unwrap();
    model.record_status(&confirmation).await.unwrap();

    let found = model.get(order.id).await.unwrap().unwrap();
    // Truncated, never rounded up.
    assert_eq!(found.created_at, datetime!(2026-03-01 12:00:00.123_456 UTC));
    assert_eq!(found.updated_at, datetime!(2026-03-01 12:00:01 UTC));
    let found_old = model.get(old.id).await.unwrap().unwrap();
    assert_eq!(
        found_old.created_at,
        datetime!(1969-12-31 23:59:59.999_999 UTC)
    );
    assert_eq!(found_old.updated_at, found_old.created_at);

    let listed = page(&*model, None, 1).await;
    assert_eq!(listed.items, vec![found]);
    // The cursor of a truncated order continues right after it.
    let rest = model.list(&query(None, 10, listed.next)).await.unwrap();
    assert_eq!(rest.items, vec![found_old]);
}

pub async fn a_cursor_between_two_microseconds_continues_at_the_older_one(backend: &impl Backend) {
    let model = backend.open().await;
    let microsecond = Duration::microseconds(1);
    let mut orders = vec![
        created(id(1), "alice", 0),
        created(id(2), "alice", 0),
        created(id(3), "alice", 0),
        created(id(4), "alice", 0),
    ];
    orders[0].created_at = T0 + microsecond;
    orders[3].created_at = T0 - microsecond;
    record_all(&*model, &orders).await;

    for cursor_id in [Uuid::nil(), Uuid::max()] {
        let cursor = OrderListCursor {
            created_at: T0 + Duration::nanoseconds(500),
            id: cursor_id,
        };
        let after = model.list(&query(None, 10, Some(cursor))).await.unwrap();
        assert_eq!(ids(&after.items), vec![id(3), id(2), id(4)]);
    }
}

pub async fn changes_survive_reopening_and_other_instances_see_them(backend: &impl Backend) {
    let first = backend.open().await;
    let order = created(id(1), "alice", 0);
    let other = created(id(2), "bob", 1);
    let confirmation = confirmed(order.id, 1, T0 + Duration::minutes(5));
    let early = cancelled(id(3), 1, "too slow", T0 + Duration::minutes(6));
    first.record_created(&order).await.unwrap();
    first.record_status(&confirmation).await.unwrap();
    first.record_created(&other).await.unwrap();
    first.record_status(&early).await.unwrap();

    let second = backend.open().await;
    let expected = changed(pending(&order), &confirmation);
    assert_eq!(second.get(order.id).await.unwrap(), Some(expected.clone()));
    drop(first);
    drop(second);

    let reopened = backend.open().await;
    assert_eq!(reopened.get(order.id).await.unwrap(), Some(expected));
    assert_eq!(
        ids(&page(&*reopened, None, 10).await.items),
        vec![other.id, order.id]
    );
    assert_eq!(reopened.get(id(3)).await.unwrap(), None);
    // The status kept before the restart still wins over a later creation.
    let late = created(id(3), "carol", 2);
    reopened.record_created(&late).await.unwrap();
    assert_eq!(
        reopened.get(late.id).await.unwrap(),
        Some(changed(pending(&late), &early))
    );
}

pub async fn a_healthy_read_model_answers_the_check(backend: &impl Backend) {
    let model = backend.open().await;
    model.check().await.unwrap();
    model
        .record_created(&created(id(1), "alice", 0))
        .await
        .unwrap();
    model.check().await.unwrap();
}
