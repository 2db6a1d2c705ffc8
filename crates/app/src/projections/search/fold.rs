//! Folding order events into search documents: pure and synchronous.
//!
//! Guarantees: an event at a stream revision at or below the document's is
//! ignored (it is already reflected), so folding is idempotent and replays
//! change nothing; every newer event moves the document's revision to its
//! own, even one that does not fit the state (which is logged, not fatal:
//! events are facts). Timestamps are truncated to the microsecond, as every
//! index stores them.

use crate::ports::OrderDocument;
use crate::ports::search::truncate_to_micros;
use orderflow_domain::{OrderEvent, OrderStatus};

/// Why an event could not be folded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(super) enum FoldError {
    #[error("{event_type} at revision {revision} of an order the index does not hold")]
    NoDocument {
        event_type: &'static str,
        revision: u64,
    },
}

/// Applies `event`, stored at `revision` of its order's stream.
pub(super) fn fold(
    document: &mut Option<OrderDocument>,
    event: OrderEvent,
    revision: u64,
) -> Result<(), FoldError> {
    let Some(current) = document else {
        return match event {
            OrderEvent::OrderCreated {
                order_id,
                buyer_id,
                lines,
                total,
                created_at,
                ..
            } => {
                let created_at = truncate_to_micros(created_at);
                *document = Some(OrderDocument {
                    order_id,
                    buyer_id,
                    status: OrderStatus::Pending,
                    lines,
                    total,
                    subscriber_ids: Default::default(),
                    created_at,
                    updated_at: created_at,
                    revision,
                });
                Ok(())
            }
            other => Err(FoldError::NoDocument {
                event_type: other.event_type(),
                revision,
            }),
        };
    };
    if revision <= current.revision {
        return Ok(());
    }
    current.revision = revision;
    match event {
        OrderEvent::OrderCreated { order_id, .. } => {
            tracing::warn!(%order_id, revision, "order created twice, ignored");
        }
        OrderEvent::OrderSubscriptionAdded { subscriber_id, .. } => {
            current.subscriber_ids.insert(subscriber_id);
        }
        OrderEvent::OrderConfirmed { confirmed_at, .. } => {
            leave_pending(current, OrderStatus::Confirmed, confirmed_at);
        }
        OrderEvent::OrderCancelled { cancelled_at, .. } => {
            leave_pending(current, OrderStatus::Cancelled, cancelled_at);
        }
    }
    Ok(())
}

fn leave_pending(document: &mut OrderDocument, to: OrderStatus, at: time::OffsetDateTime) {
    if document.status != OrderStatus::Pending {
        let order_id = document.order_id;
        tracing::warn!(%order_id, from = %document.status, %to, "status change of a final order, ignored");
        return;
    }
    document.status = to;
    document.updated_at = truncate_to_micros(at);
}

#[cfg(test)]
mod tests {
    use orderflow_domain::testing::{NOW, created, order_id, user};

    use super::*;

    fn folded(events: Vec<(OrderEvent, u64)>) -> Result<Option<OrderDocument>, FoldError> {
        let mut document = None;
        for (event, revision) in events {
            fold(&mut document, event, revision)?;
        }
        Ok(document)
    }

    fn confirmed(n: u64) -> OrderEvent {
        OrderEvent::OrderConfirmed {
            order_id: order_id(n),
            confirmed_at: NOW + time::Duration::minutes(5),
        }
    }

    fn history(n: u64) -> Vec<(OrderEvent, u64)> {
        created(order_id(n), "alice").into_iter().zip(0..).collect()
    }

    #[test]
    fn a_created_order_is_pending_and_followed_by_its_buyer() {
        let document = folded(history(1)).unwrap().unwrap();
        assert_eq!(document.status, OrderStatus::Pending);
        assert_eq!(document.subscriber_ids, [user("alice")].into());
        assert_eq!(document.revision, 1);
        assert_eq!(document.created_at, NOW);
        assert_eq!(document.updated_at, NOW);
    }

    #[test]
    fn confirming_changes_the_status_and_the_update_time() {
        let mut events = history(1);
        events.push((confirmed(1), 2));
        let document = folded(events).unwrap().unwrap();
        assert_eq!(document.status, OrderStatus::Confirmed);
        assert_eq!(document.updated_at, NOW + time::Duration::minutes(5));
        assert_eq!(document.revision, 2);
    }

    #[test]
    fn events_at_or_below_the_documents_revision_change_nothing() {
        let mut events = history(1);
        events.push((confirmed(1), 2));
        let once = folded(events.clone()).unwrap();
        let mut twice = events.clone();
        twice.extend(events);
        assert_eq!(folded(twice).unwrap(), once);
    }

    #[test]
    fn an_event_without_a_document_is_an_error() {
        assert_eq!(
            folded(vec![(confirmed(1), 2)]),
            Err(FoldError::NoDocument {
                event_type: "OrderConfirmed",
                revision: 2
            })
        );
    }
}
