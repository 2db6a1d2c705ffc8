//! A collector for keyset pagination, newest first.
//!
//! Guarantees: in one pass over the matching documents it counts them all
//! (the page's `total`, independent of the cursor) and keeps the `limit`
//! documents with the greatest sort keys strictly below the cursor. The sort
//! key is (`created_at` µs, id high half, id low half), compared
//! lexicographically: `created_at` descending, then order id descending,
//! exactly as PostgreSQL's `ORDER BY created_at DESC, id DESC`.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::Column;
use tantivy::index::SegmentReader;
use tantivy::{DocAddress, DocId, Score, SegmentOrdinal};

use super::schema::{CREATED_AT, ID_HIGH, ID_LOW};

/// (`created_at` µs, id high, id low).
pub(super) type SortKey = (i64, u64, u64);

/// Collects the newest `limit` documents after an optional cursor.
#[derive(Debug, Clone, Copy)]
pub(super) struct NewestFirst {
    pub(super) limit: usize,
    /// Only documents whose key is strictly below this one.
    pub(super) below: Option<SortKey>,
}

/// What [`NewestFirst`] found: the total match count and the top hits,
/// sorted by key descending.
pub(super) type Hits = (u64, Vec<(SortKey, DocAddress)>);

impl Collector for NewestFirst {
    type Fruit = Hits;
    type Child = SegmentNewestFirst;

    fn for_segment(
        &self,
        segment: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<SegmentNewestFirst> {
        let fast_fields = reader.fast_fields();
        Ok(SegmentNewestFirst {
            segment,
            limit: self.limit,
            below: self.below,
            created_at: fast_fields.i64(CREATED_AT)?,
            id_high: fast_fields.u64(ID_HIGH)?,
            id_low: fast_fields.u64(ID_LOW)?,
            total: 0,
            top: BinaryHeap::with_capacity(self.limit + 1),
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<Hits>) -> tantivy::Result<Hits> {
        let mut total = 0;
        let mut hits = Vec::new();
        for (segment_total, segment_hits) in fruits {
            total += segment_total;
            hits.extend(segment_hits);
        }
        hits.sort_unstable_by(|a, b| b.cmp(a));
        hits.truncate(self.limit);
        Ok((total, hits))
    }
}

/// [`NewestFirst`] within one segment.
pub(super) struct SegmentNewestFirst {
    segment: SegmentOrdinal,
    limit: usize,
    below: Option<SortKey>,
    created_at: Column<i64>,
    id_high: Column<u64>,
    id_low: Column<u64>,
    total: u64,
    /// A min-heap of the best keys so far: its top is the one to evict.
    top: BinaryHeap<Reverse<(SortKey, DocId)>>,
}

impl SegmentCollector for SegmentNewestFirst {
    type Fruit = Hits;

    fn collect(&mut self, doc: DocId, _score: Score) {
        self.total += 1;
        let key = (
            self.created_at.first(doc).unwrap_or(i64::MIN),
            self.id_high.first(doc).unwrap_or(0),
            self.id_low.first(doc).unwrap_or(0),
        );
        if self.below.is_some_and(|below| key >= below) {
            return;
        }
        if self.top.len() < self.limit {
            self.top.push(Reverse((key, doc)));
        } else if self
            .top
            .peek()
            .is_some_and(|Reverse(worst)| (key, doc) > *worst)
        {
            self.top.pop();
            self.top.push(Reverse((key, doc)));
        }
    }

    fn harvest(self) -> Hits {
        let segment = self.segment;
        let hits = self
            .top
            .into_iter()
            .map(|Reverse((key, doc))| (key, DocAddress::new(segment, doc)))
            .collect();
        (self.total, hits)
    }
}
