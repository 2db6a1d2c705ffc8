//! Turns a [`SearchQuery`] into a tantivy query and collector.
//!
//! Guarantees: filters are exact term or range matches on raw fields; text
//! follows [`crate::text::TextQuery`] word for word; a query without any
//! filter matches every document.

use std::ops::Bound;

use orderflow_app::ports::SearchQuery;
use orderflow_app::ports::search::unix_micros;
use tantivy::Term;
use tantivy::query::{AllQuery, BooleanQuery, Occur, Query, RangeQuery, TermQuery};
use tantivy::schema::{Field, IndexRecordOption};

use super::collector::NewestFirst;
use super::schema::{Fields, uuid_halves};
use crate::text::TextQuery;

pub(super) fn to_tantivy(fields: &Fields, query: &SearchQuery) -> Box<dyn Query> {
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    if let Some(buyer) = query.buyer_id() {
        clauses.push((Occur::Must, term(fields.buyer_id, buyer.as_str())));
    }
    if let Some(status) = query.status() {
        clauses.push((Occur::Must, term(fields.status, status.as_str())));
    }
    let from = query.created_from().map(unix_micros);
    let to = query.created_to().map(unix_micros);
    if from.is_some() || to.is_some() {
        let micros = |value| Term::from_field_i64(fields.created_at, value);
        let lower = from.map_or(Bound::Unbounded, |from| Bound::Included(micros(from)));
        let upper = to.map_or(Bound::Unbounded, |to| Bound::Excluded(micros(to)));
        clauses.push((Occur::Must, Box::new(RangeQuery::new(lower, upper))));
    }
    if let Some(text) = query.text() {
        for word in TextQuery::parse(text).words {
            let alternatives = word
                .alternatives
                .iter()
                .map(|keywords| {
                    let all = keywords
                        .iter()
                        .map(|keyword| (Occur::Must, term(fields.keywords, keyword)))
                        .collect();
                    (
                        Occur::Should,
                        Box::new(BooleanQuery::new(all)) as Box<dyn Query>,
                    )
                })
                .collect();
            clauses.push((Occur::Must, Box::new(BooleanQuery::new(alternatives))));
        }
    }
    if clauses.is_empty() {
        return Box::new(AllQuery);
    }
    Box::new(BooleanQuery::new(clauses))
}

/// Collects one page plus one more hit, which tells whether more follow.
pub(super) fn collector(query: &SearchQuery) -> NewestFirst {
    let below = query.cursor().map(|cursor| {
        let (high, low) = uuid_halves(cursor.order_id);
        (cursor.created_at_micros, high, low)
    });
    NewestFirst {
        limit: query.limit() as usize + 1,
        below,
    }
}

fn term(field: Field, text: &str) -> Box<dyn Query> {
    Box::new(TermQuery::new(
        Term::from_field_text(field, text),
        IndexRecordOption::Basic,
    ))
}
