//! The rules both adapters share, so SQLite and PostgreSQL cannot disagree:
//!
//! * **Time** is truncated to the microsecond (towards the past) before it is
//!   stored or compared; SQLite keeps Unix microseconds, PostgreSQL a
//!   `timestamptz`, and both hold exactly the same instants.
//! * **Revisions** are stored as `BIGINT`; a revision above `i64::MAX`
//!   (unreachable in practice) saturates instead of wrapping.
//! * **A row is shown** only when every detail column is present, and a row
//!   that is not exactly "all details or none" is reported as corrupt.
//! * **A status change at revision 0** is ignored: 0 is the creation's own
//!   revision, so such a change is never above the stored one, whether the
//!   creation has arrived or not. (Storing it when it came first would make
//!   the outcome depend on the order of arrival.)
//! * **Pages** ask the database for one row more than the limit, so `next` is
//!   set exactly when another order follows.

use orderflow_app::ports::search::{truncate_to_micros, unix_micros};
use orderflow_app::ports::{
    GatewayOrder, GatewayOrderLine, OrderListCursor, OrderListPage, OrderListQuery, ReadModelError,
    StatusChange,
};
use time::OffsetDateTime;
use uuid::Uuid;

/// The status a created order starts with.
pub(crate) const PENDING: &str = "pending";

/// Unix microseconds of `at`, truncated towards the past.
pub(crate) fn micros(at: OffsetDateTime) -> i64 {
    unix_micros(at)
}

/// `at` truncated to whole microseconds, in UTC.
pub(crate) fn truncated(at: OffsetDateTime) -> OffsetDateTime {
    truncate_to_micros(at.to_offset(time::UtcOffset::UTC))
}

/// The instant `micros` after the epoch, if `time` can represent it.
pub(crate) fn from_micros(micros: i64) -> Result<OffsetDateTime, ReadModelError> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1_000).map_err(|_| {
        ReadModelError::Internal(format!("stored timestamp {micros} out of range").into())
    })
}

/// A revision as stored in a `BIGINT`.
pub(crate) fn stored_revision(revision: u64) -> i64 {
    i64::try_from(revision).unwrap_or(i64::MAX)
}

/// Whether `change` can never apply (see the module header).
pub(crate) fn changes_nothing(change: &StatusChange) -> bool {
    change.revision == 0
}

/// The order lines as stored: a JSON array of the wire shape.
pub(crate) fn encode_items(items: &[GatewayOrderLine]) -> Result<String, ReadModelError> {
    serde_json::to_string(items).map_err(|error| ReadModelError::Internal(Box::new(error)))
}

/// The page size actually used: [`OrderListQuery::limit`] clamped to
/// `1..=MAX_LIMIT`.
pub(crate) fn page_limit(query: &OrderListQuery) -> u32 {
    query.limit.clamp(1, OrderListQuery::MAX_LIMIT)
}

/// Where a page starts, in stored (microsecond) terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Boundary {
    /// Orders strictly after `(created_at, id)` in newest-first order.
    After {
        created_at: OffsetDateTime,
        id: Uuid,
    },
    /// The cursor's time lies between two microseconds, where no stored order
    /// can be: every order created at or before `created_at` follows it.
    AtOrBefore { created_at: OffsetDateTime },
}

impl Boundary {
    pub(crate) fn of(cursor: &OrderListCursor) -> Boundary {
        let created_at = truncated(cursor.created_at);
        if created_at == cursor.created_at {
            Boundary::After {
                created_at,
                id: cursor.id,
            }
        } else {
            Boundary::AtOrBefore { created_at }
        }
    }
}

/// One row of `gateway_orders` as either database returns it.
#[derive(Debug)]
pub(crate) struct StoredOrder {
    pub(crate) id: Uuid,
    pub(crate) buyer_id: Option<String>,
    pub(crate) currency: Option<String>,
    pub(crate) items: Option<String>,
    pub(crate) total: Option<String>,
    pub(crate) created_at: Option<OffsetDateTime>,
    pub(crate) status: String,
    pub(crate) cancellation_reason: Option<String>,
    pub(crate) revision: i64,
    pub(crate) updated_at: OffsetDateTime,
}

impl StoredOrder {
    /// The order as the port shows it; `None` while its creation has not
    /// been recorded.
    pub(crate) fn into_order(self) -> Result<Option<GatewayOrder>, ReadModelError> {
        let id = self.id;
        let corrupt =
            |what: &str| ReadModelError::Internal(format!("read model order {id}: {what}").into());
        let (buyer_id, currency, items, total, created_at) = match (
            self.buyer_id,
            self.currency,
            self.items,
            self.total,
            self.created_at,
        ) {
            (Some(buyer_id), Some(currency), Some(items), Some(total), Some(created_at)) => {
                (buyer_id, currency, items, total, created_at)
            }
            (None, None, None, None, None) => return Ok(None),
            _ => return Err(corrupt("some details are missing")),
        };
        let items: Vec<GatewayOrderLine> =
            serde_json::from_str(&items).map_err(|_| corrupt("order lines do not decode"))?;
        Ok(Some(GatewayOrder {
            id,
            buyer_id,
            status: self.status,
            currency,
            items,
            total,
            cancellation_reason: self.cancellation_reason,
            created_at,
            updated_at: self.updated_at,
            revision: u64::try_from(self.revision).map_err(|_| corrupt("negative revision"))?,
        }))
    }
}

/// Cuts rows fetched with a limit of `limit + 1` into a page.
pub(crate) fn page(rows: Vec<StoredOrder>, limit: u32) -> Result<OrderListPage, ReadModelError> {
    let limit = limit as usize;
    let more = rows.len() > limit;
    let mut items = Vec::with_capacity(rows.len().min(limit));
    for row in rows.into_iter().take(limit) {
        let id = row.id;
        let order = row.into_order()?.ok_or_else(|| {
            ReadModelError::Internal(format!("read model order {id} listed without details").into())
        })?;
        items.push(order);
    }
    let next = if more {
        items.last().map(|order| OrderListCursor {
            created_at: order.created_at,
            id: order.id,
        })
    } else {
        None
    };
    Ok(OrderListPage { items, next })
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    fn query(limit: u32) -> OrderListQuery {
        OrderListQuery {
            buyer: None,
            limit,
            after: None,
        }
    }

    #[test]
    fn limits_are_clamped_to_one_and_the_maximum() {
        assert_eq!(page_limit(&query(0)), 1);
        assert_eq!(page_limit(&query(7)), 7);
        assert_eq!(page_limit(&query(u32::MAX)), OrderListQuery::MAX_LIMIT);
    }

    #[test]
    fn time_is_truncated_towards_the_past_in_utc() {
        let at = datetime!(2026-03-01 13:00:00.123_456_789 +01:00);
        assert_eq!(truncated(at), datetime!(2026-03-01 12:00:00.123_456 UTC));
        assert_eq!(from_micros(micros(at)).unwrap(), truncated(at));
        let before_epoch = datetime!(1969-12-31 23:59:59.999_999_5 UTC);
        assert_eq!(
            from_micros(micros(before_epoch)).unwrap(),
            truncated(before_epoch)
        );
    }

    #[test]
    fn a_cursor_between_two_microseconds_includes_the_older_one() {
        let id = Uuid::from_u128(7);
        let exact = datetime!(2026-03-01 12:00:00.000_001 UTC);
        assert_eq!(
            Boundary::of(&OrderListCursor {
                created_at: exact,
                id
            }),
            Boundary::After {
                created_at: exact,
                id
            }
        );
        let between = datetime!(2026-03-01 12:00:00.000_001_5 UTC);
        assert_eq!(
            Boundary::of(&OrderListCursor {
                created_at: between,
                id
            }),
            Boundary::AtOrBefore { created_at: exact }
        );
    }

    #[test]
    fn a_row_with_some_details_only_is_corrupt() {
        let at = datetime!(2026-03-01 12:00:00 UTC);
        let row = StoredOrder {
            id: Uuid::from_u128(1),
            buyer_id: Some("alice".into()),
            currency: None,
            items: None,
            total: None,
            created_at: None,
            status: "confirmed".into(),
            cancellation_reason: None,
            revision: 1,
            updated_at: at,
        };
        assert!(matches!(row.into_order(), Err(ReadModelError::Internal(_))));
    }
}
