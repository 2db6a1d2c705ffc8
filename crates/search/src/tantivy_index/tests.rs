//! Commits of the tantivy adapter: one per update, none for an update that changes nothing.

use orderflow_app::ports::ProjectionCheckpoint;
use orderflow_domain::testing::{NOW, create_order, order_id, user};
use orderflow_domain::{Money, OrderStatus};

use super::*;

fn document(n: u64, revision: u64) -> OrderDocument {
    let order = create_order(order_id(n), "alice");
    OrderDocument {
        order_id: order.order_id,
        buyer_id: user("alice"),
        status: OrderStatus::Pending,
        total: Money::zero(order.currency),
        lines: order.lines,
        subscriber_ids: [user("alice")].into(),
        created_at: NOW,
        updated_at: NOW,
        revision,
    }
}

fn segments(index: &TantivySearchIndex) -> usize {
    index.inner.reader.searcher().segment_readers().len()
}

fn opstamp(index: &TantivySearchIndex) -> u64 {
    index.inner.writer.last_commit_opstamp()
}

#[tokio::test]
async fn one_update_is_one_commit_whatever_its_size() {
    let index = TantivySearchIndex::in_memory().unwrap();
    let update = IndexUpdate {
        documents: (1..=300).map(|n| document(n, 1)).collect(),
        checkpoint: None,
    };
    index.apply(update).await.unwrap();
    assert_eq!(segments(&index), 1);
}

#[tokio::test]
async fn an_update_that_changes_nothing_commits_nothing() {
    let index = TantivySearchIndex::in_memory().unwrap();
    let checkpoint = Some(ProjectionCheckpoint {
        projection: "search".into(),
        position: Position::new(4),
    });
    let update = IndexUpdate {
        documents: vec![document(1, 2)],
        checkpoint,
    };
    index.apply(update.clone()).await.unwrap();
    let committed = opstamp(&index);
    index.apply(update).await.unwrap();
    let older = IndexUpdate {
        documents: vec![document(1, 1)],
        checkpoint: None,
    };
    index.apply(older).await.unwrap();
    assert_eq!(opstamp(&index), committed);
}
