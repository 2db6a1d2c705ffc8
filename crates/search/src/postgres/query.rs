//! Turns a [`SearchQuery`] into SQL: plain-column filters, a `tsquery` of
//! quoted lexemes for text, and keyset pagination on `(created_at, id)`.
//!
//! Guarantees: every value is a bind parameter (the SQL text is made of
//! constant fragments only); `total` counts every match, regardless of the
//! cursor; a page asks for one row more than its limit to know whether more
//! follow.

use orderflow_app::ports::{SearchCursor, SearchError, SearchPage, SearchQuery};
use sqlx::postgres::PgPool;
use sqlx::{Postgres, QueryBuilder};

use super::{from_unix_micros, unavailable};
use crate::stored;
use crate::text::TextQuery;

/// Searches the table `orders` (a generation's, never input).
pub(super) async fn search(
    pool: &PgPool,
    orders: &str,
    query: &SearchQuery,
) -> Result<SearchPage, SearchError> {
    let mut count =
        QueryBuilder::<Postgres>::new(format!("SELECT count(*) FROM {orders} WHERE true"));
    push_filters(&mut count, query);
    let total: i64 = count
        .build_query_scalar()
        .fetch_one(pool)
        .await
        .map_err(unavailable)?;

    let mut page =
        QueryBuilder::<Postgres>::new(format!("SELECT document::text FROM {orders} WHERE true"));
    push_filters(&mut page, query);
    if let Some(cursor) = query.cursor() {
        push_before(&mut page, cursor);
    }
    let limit = i64::from(query.limit());
    page.push(" ORDER BY created_at DESC, id DESC LIMIT ")
        .push_bind(limit + 1);
    let rows: Vec<String> = page
        .build_query_scalar()
        .fetch_all(pool)
        .await
        .map_err(unavailable)?;

    let more = rows.len() as i64 > limit;
    let items = rows
        .iter()
        .take(query.limit() as usize)
        .map(|json| stored::decode(json.as_bytes()))
        .collect::<Result<Vec<_>, _>>()?;
    let next_cursor = if more {
        items.last().map(SearchCursor::after)
    } else {
        None
    };
    Ok(SearchPage {
        items,
        total: u64::try_from(total).unwrap_or(0),
        next_cursor,
    })
}

fn push_filters(sql: &mut QueryBuilder<Postgres>, query: &SearchQuery) {
    if let Some(buyer) = query.buyer_id() {
        sql.push(" AND buyer_id = ").push_bind(buyer.to_string());
    }
    if let Some(status) = query.status() {
        sql.push(" AND status = ").push_bind(status.as_str());
    }
    if let Some(from) = query.created_from() {
        sql.push(" AND created_at >= ").push_bind(from);
    }
    if let Some(to) = query.created_to() {
        sql.push(" AND created_at < ").push_bind(to);
    }
    if let Some(text) = query.text() {
        sql.push(" AND search_vector @@ ")
            .push_bind(tsquery(&TextQuery::parse(text)))
            .push("::tsquery");
    }
}

/// Rows strictly after `cursor` in newest-first order.
fn push_before(sql: &mut QueryBuilder<Postgres>, cursor: &SearchCursor) {
    match from_unix_micros(cursor.created_at_micros) {
        Some(created_at) => {
            sql.push(" AND (created_at, id) < (")
                .push_bind(created_at)
                .push(", ")
                .push_bind(cursor.order_id)
                .push(")");
        }
        // Beyond what a timestamp holds: after the far future comes
        // everything, after the far past nothing.
        None if cursor.created_at_micros > 0 => {}
        None => {
            sql.push(" AND false");
        }
    }
}

/// `('a' & 'b' | 'c') & (…)`: words ANDed, alternatives ORed, the keywords
/// of an alternative ANDed; every lexeme quoted, so PostgreSQL takes it as is.
fn tsquery(text: &TextQuery) -> String {
    let words: Vec<String> = text
        .words
        .iter()
        .map(|word| {
            let alternatives: Vec<String> = word
                .alternatives
                .iter()
                .map(|keywords| {
                    let quoted: Vec<String> = keywords.iter().map(|k| quote(k)).collect();
                    format!("({})", quoted.join(" & "))
                })
                .collect();
            format!("({})", alternatives.join(" | "))
        })
        .collect();
    words.join(" & ")
}

fn quote(lexeme: &str) -> String {
    format!("'{}'", lexeme.replace('\\', "\\\\").replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_anded_and_their_alternatives_ored() {
        let query = tsquery(&TextQuery::parse("Coffee SKU-1"));
        assert_eq!(query, "(('coffee')) & (('sku-1') | ('1' & 'sku'))");
    }

    #[test]
    fn quotes_and_backslashes_are_escaped() {
        assert_eq!(quote(r"it's\"), r"'it''s\\'");
    }
}
