//! The search index port: the read model that admins and buyers search.
//!
//! What every adapter (tantivy, PostgreSQL, and later Elasticsearch or
//! OpenSearch) promises, checked by the conformance suite in
//! `orderflow-search`:
//!
//! * **Idempotent upserts by revision.** [`SearchIndex::apply`] writes a
//!   batch of [`OrderDocument`]s; a document whose `revision` is at or below
//!   the stored one for its order is ignored, so replays and late, older
//!   states never overwrite newer ones.
//! * **Atomic batches with their checkpoint.** The documents of one
//!   [`IndexUpdate`] and its optional [`ProjectionCheckpoint`] become visible
//!   together, or not at all; once `apply` returns `Ok` they are durable and a
//!   search started afterwards sees them (read-your-writes within a process).
//!   Checkpoints only move forward.
//! * **Scoped searches.** Every [`SearchQuery`] is built with its
//!   [`SearchScope`]: every order, or one buyer's. There is no other
//!   constructor, so a caller cannot forget the scope; the orders slice
//!   derives it from the caller with the one visibility rule
//!   (`crate::orders::visibility`).
//! * **Stable keyset pagination.** Results are newest first (`created_at`
//!   descending, then order id descending); the [`SearchCursor`] of a
//!   page continues right after its last item (its text form for clients is
//!   the orders slice's business), so following cursors visits
//!   every matching document exactly once while documents are not added.
//! * **Text.** [`SearchQuery::text`] is split on whitespace; every word must
//!   match, and a word matches an order when it equals one of its SKUs or its
//!   id (case-insensitively), or when its alphanumeric pieces are all words of
//!   the order's item names (case-insensitively).
//! * **Timestamps** are kept to the microsecond (what PostgreSQL stores);
//!   producers truncate finer precision before indexing.

use std::collections::BTreeSet;

use async_trait::async_trait;
use orderflow_domain::{Currency, Money, OrderId, OrderLine, OrderStatus, UserId};
use time::OffsetDateTime;
use uuid::Uuid;

use super::event_store::Position;

/// One order as the search index holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderDocument {
    pub order_id: OrderId,
    pub buyer_id: UserId,
    pub status: OrderStatus,
    /// What was ordered: SKUs and names are searchable.
    pub lines: Vec<OrderLine>,
    /// The order's total; its currency is the order's currency.
    pub total: Money,
    /// Everyone who follows the order's updates.
    pub subscriber_ids: BTreeSet<UserId>,
    pub created_at: OffsetDateTime,
    /// When the status last changed (`created_at` until then).
    pub updated_at: OffsetDateTime,
    /// The stream revision of the last event this document reflects.
    pub revision: u64,
}

impl OrderDocument {
    pub fn currency(&self) -> Currency {
        self.total.currency()
    }

    pub fn total_minor_units(&self) -> i64 {
        self.total.minor_units()
    }

    /// The total as a decimal string, such as `"28.00"`.
    pub fn formatted_total(&self) -> String {
        self.total.format()
    }

    pub fn skus(&self) -> impl Iterator<Item = &str> {
        self.lines.iter().map(|line| line.sku.as_str())
    }

    pub fn item_names(&self) -> impl Iterator<Item = &str> {
        self.lines.iter().map(|line| line.name.as_str())
    }
}

/// The last event position a projection has written into the index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectionCheckpoint {
    pub projection: String,
    pub position: Position,
}

/// One atomic write to the index.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IndexUpdate {
    /// Upserts, each ignored when its revision is at or below the stored one.
    pub documents: Vec<OrderDocument>,
    /// Stored with the documents, in the same commit; never moves backwards.
    pub checkpoint: Option<ProjectionCheckpoint>,
}

/// Why the index could not answer or write; callers map it to HTTP 503.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error("search index unavailable: {0}")]
    Unavailable(#[source] crate::error::Cause),
    #[error("search index data is corrupt: {0}")]
    Corrupt(#[source] crate::error::Cause),
}

/// Why a [`SearchQuery`] cannot be built (HTTP 400, or 403 for the scope).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SearchQueryError {
    #[error("a buyer can search only their own orders")]
    OtherBuyer,
    #[error("limit must be between 1 and {max}")]
    Limit { max: u32 },
    #[error("the search text has at most {max} characters")]
    TextTooLong { max: usize },
    #[error("`from` must be before `to`")]
    EmptyTimeRange,
}

/// Whose orders a query may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SearchScope {
    /// Every order (admins).
    Everyone,
    /// Only this buyer's orders.
    Buyer(UserId),
}

/// A search: filters, text, page size and position. Built only through
/// [`SearchQuery::new`], so every query carries its scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchQuery {
    scope: SearchScope,
    buyer_id: Option<UserId>,
    status: Option<OrderStatus>,
    text: Option<String>,
    created_from: Option<OffsetDateTime>,
    created_to: Option<OffsetDateTime>,
    limit: u32,
    cursor: Option<SearchCursor>,
}

impl SearchQuery {
    pub const DEFAULT_LIMIT: u32 = 20;
    pub const MAX_LIMIT: u32 = 100;
    pub const MAX_TEXT_CHARS: usize = 200;

    /// The first page of everything within `scope`.
    pub fn new(scope: SearchScope) -> Self {
        SearchQuery {
            scope,
            buyer_id: None,
            status: None,
            text: None,
            created_from: None,
            created_to: None,
            limit: Self::DEFAULT_LIMIT,
            cursor: None,
        }
    }

    /// Only orders of `buyer`. A buyer may name only themselves.
    pub fn with_buyer(mut self, buyer: UserId) -> Result<Self, SearchQueryError> {
        if let SearchScope::Buyer(own) = &self.scope
            && *own != buyer
        {
            return Err(SearchQueryError::OtherBuyer);
        }
        self.buyer_id = Some(buyer);
        Ok(self)
    }

    pub fn with_status(mut self, status: OrderStatus) -> Self {
        self.status = Some(status);
        self
    }

    /// Text to match (see the module header); blank text matches everything.
    pub fn with_text(mut self, text: &str) -> Result<Self, SearchQueryError> {
        let text = text.trim();
        if text.chars().count() > Self::MAX_TEXT_CHARS {
            return Err(SearchQueryError::TextTooLong {
                max: Self::MAX_TEXT_CHARS,
            });
        }
        self.text = (!text.is_empty()).then(|| text.to_owned());
        Ok(self)
    }

    /// Orders created at or after `from` and strictly before `to`.
    pub fn with_created_between(
        mut self,
        from: Option<OffsetDateTime>,
        to: Option<OffsetDateTime>,
    ) -> Result<Self, SearchQueryError> {
        if let (Some(from), Some(to)) = (from, to)
            && from >= to
        {
            return Err(SearchQueryError::EmptyTimeRange);
        }
        self.created_from = from;
        self.created_to = to;
        Ok(self)
    }

    /// Page size, 1 to [`SearchQuery::MAX_LIMIT`].
    pub fn with_limit(mut self, limit: u32) -> Result<Self, SearchQueryError> {
        if !(1..=Self::MAX_LIMIT).contains(&limit) {
            return Err(SearchQueryError::Limit {
                max: Self::MAX_LIMIT,
            });
        }
        self.limit = limit;
        Ok(self)
    }

    /// Continue after the page that returned `cursor`.
    pub fn after(mut self, cursor: SearchCursor) -> Self {
        self.cursor = Some(cursor);
        self
    }

    /// The buyer filter adapters must apply: the caller's own id for a
    /// buyer, the requested one (if any) for an admin.
    pub fn buyer_id(&self) -> Option<&UserId> {
        match &self.scope {
            SearchScope::Buyer(own) => Some(own),
            SearchScope::Everyone => self.buyer_id.as_ref(),
        }
    }

    pub fn status(&self) -> Option<OrderStatus> {
        self.status
    }

    /// Trimmed, never blank.
    pub fn text(&self) -> Option<&str> {
        self.text.as_deref()
    }

    /// Inclusive lower bound on `created_at`.
    pub fn created_from(&self) -> Option<OffsetDateTime> {
        self.created_from
    }

    /// Exclusive upper bound on `created_at`.
    pub fn created_to(&self) -> Option<OffsetDateTime> {
        self.created_to
    }

    pub fn limit(&self) -> u32 {
        self.limit
    }

    pub fn cursor(&self) -> Option<&SearchCursor> {
        self.cursor.as_ref()
    }
}

/// Where a page ended: the sort key of its last item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SearchCursor {
    /// `created_at` in microseconds since the Unix epoch.
    pub created_at_micros: i64,
    pub order_id: Uuid,
}

impl SearchCursor {
    /// The cursor that continues after `document`.
    pub fn after(document: &OrderDocument) -> Self {
        SearchCursor {
            created_at_micros: unix_micros(document.created_at),
            order_id: document.order_id.as_uuid(),
        }
    }
}

/// Microseconds since the Unix epoch (the index's time resolution).
pub fn unix_micros(at: OffsetDateTime) -> i64 {
    let micros = at.unix_timestamp_nanos().div_euclid(1_000);
    i64::try_from(micros).unwrap_or(if micros < 0 { i64::MIN } else { i64::MAX })
}

/// `at` truncated to whole microseconds.
pub fn truncate_to_micros(at: OffsetDateTime) -> OffsetDateTime {
    let nanos = at.nanosecond();
    at.replace_nanosecond(nanos - nanos % 1_000).unwrap_or(at)
}

/// One page of results, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchPage {
    pub items: Vec<OrderDocument>,
    /// How many documents match the query, on every page together.
    pub total: u64,
    /// Present when more results may follow.
    pub next_cursor: Option<SearchCursor>,
}

/// The searchable read model of orders.
#[async_trait]
pub trait SearchIndex: Send + Sync + 'static {
    /// Writes `update` atomically (see the module header); durable and
    /// searchable once this returns `Ok`.
    async fn apply(&self, update: IndexUpdate) -> Result<(), SearchError>;

    /// The stored documents of `ids` that exist, in no particular order.
    async fn get_many(&self, ids: &[OrderId]) -> Result<Vec<OrderDocument>, SearchError>;

    /// One page of results.
    async fn search(&self, query: &SearchQuery) -> Result<SearchPage, SearchError>;

    /// The stored checkpoint of `projection`, [`Position::START`] if none.
    async fn checkpoint(&self, projection: &str) -> Result<Position, SearchError>;

    /// Removes every document and every checkpoint (before a rebuild).
    async fn clear(&self) -> Result<(), SearchError>;

    /// The stored document of `id`, if any.
    async fn get(&self, id: OrderId) -> Result<Option<OrderDocument>, SearchError> {
        Ok(self.get_many(&[id]).await?.pop())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn user(name: &str) -> UserId {
        UserId::parse(name).unwrap()
    }

    #[test]
    fn an_admin_searches_every_order_unless_they_name_a_buyer() {
        let query = SearchQuery::new(SearchScope::Everyone);
        assert_eq!(query.buyer_id(), None);
        let query = query.with_buyer(user("bob")).unwrap();
        assert_eq!(query.buyer_id(), Some(&user("bob")));
    }

    #[test]
    fn a_buyer_searches_only_their_own_orders() {
        let query = SearchQuery::new(SearchScope::Buyer(user("alice")));
        assert_eq!(query.buyer_id(), Some(&user("alice")));
        let query = query.with_buyer(user("alice")).unwrap();
        assert_eq!(query.buyer_id(), Some(&user("alice")));
        assert_eq!(
            query.with_buyer(user("bob")),
            Err(SearchQueryError::OtherBuyer)
        );
    }

    #[test]
    fn limits_range_from_one_to_a_hundred_and_default_to_twenty() {
        let query = SearchQuery::new(SearchScope::Everyone);
        assert_eq!(query.limit(), 20);
        assert!(query.clone().with_limit(0).is_err());
        assert!(query.clone().with_limit(101).is_err());
        assert_eq!(query.with_limit(100).unwrap().limit(), 100);
    }

    #[test]
    fn text_is_trimmed_blank_text_is_no_filter_and_long_text_is_refused() {
        let query = SearchQuery::new(SearchScope::Everyone);
        assert_eq!(
            query.clone().with_text("  beans ").unwrap().text(),
            Some("beans")
        );
        assert_eq!(query.clone().with_text("   ").unwrap().text(), None);
        assert!(query.with_text(&"x".repeat(201)).is_err());
    }

    #[test]
    fn an_empty_time_range_is_refused() {
        let query = SearchQuery::new(SearchScope::Everyone);
        let at = datetime!(2026-01-02 03:04:05 UTC);
        assert_eq!(
            query.clone().with_created_between(Some(at), Some(at)),
            Err(SearchQueryError::EmptyTimeRange)
        );
        assert!(query.with_created_between(Some(at), None).is_ok());
    }

    #[test]
    fn timestamps_are_kept_to_the_microsecond() {
        let at = datetime!(2026-01-02 03:04:05.123456789 UTC);
        assert_eq!(
            truncate_to_micros(at),
            datetime!(2026-01-02 03:04:05.123456 UTC)
        );
        assert_eq!(unix_micros(at), 1_767_323_045_123_456);
        let before_epoch = datetime!(1969-12-31 23:59:59.9999995 UTC);
        assert_eq!(unix_micros(before_epoch), -1);
    }
}
