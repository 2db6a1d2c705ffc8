//! Entry points for the fuzzer (`fuzz/`) and the replay of its seed corpus; not an API.
//!
//! Compiled for this crate's tests and with the `fuzzing` feature only: the search query
//! parameters and the page cursor, as a client sends them.

use orderflow_domain::UserId;

use crate::context::{Actor, RequestContext};
use crate::error::AppError;
use crate::mediator::Request;
use crate::orders::search::SearchOrdersRequest;
use crate::page_cursor::PageCursor;
use crate::ports::SearchQuery;

/// `data` as a cursor: one is read only from exactly the text it writes.
pub fn page_cursor(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return; // query strings reach the parser as text
    };
    if let Ok(cursor) = PageCursor::parse(text) {
        assert_eq!(
            cursor.to_string(),
            text,
            "a cursor read from a text it never writes"
        );
    }
}

/// `data` as `GET /orders` parameters (`status=…&text=…&buyerId=…&from=…&to=…&limit=…&
/// cursor=…&minPosition=…`, no percent-decoding), its first byte choosing the caller (admin,
/// buyer or neither): a query comes out valid, within its limits and scoped to the caller.
pub fn search_query(data: &[u8]) {
    let Some((&who, rest)) = data.split_first() else {
        return;
    };
    let Ok(parameters) = std::str::from_utf8(rest) else {
        return;
    };
    let request = search_request(parameters);
    let user = UserId::parse("buyer-1").expect("a valid user id");
    let actor = Actor {
        user_id: user.clone(),
        is_admin: who % 3 == 0,
        is_buyer: who % 3 == 1,
    };
    if request.authorize(&actor).is_err() {
        assert!(
            !actor.is_admin && !actor.is_buyer,
            "an admin or buyer refused"
        );
        return;
    }
    let named = request.buyer_id.clone();
    match request.validate(&RequestContext::new(actor.clone())) {
        Ok(search) => {
            let query = search.query;
            if !actor.is_admin {
                assert_eq!(query.buyer_id(), Some(&user), "a buyer's query not scoped");
            }
            assert!((1..=SearchQuery::MAX_LIMIT).contains(&query.limit()));
            let text = query.text().map_or(0, |text| text.chars().count());
            assert!(text <= SearchQuery::MAX_TEXT_CHARS);
            assert!(
                query
                    .text()
                    .is_none_or(|text| text == text.trim() && !text.is_empty())
            );
            if let (Some(from), Some(to)) = (query.created_from(), query.created_to()) {
                assert!(from < to, "an empty time range accepted");
            }
        }
        Err(AppError::Forbidden(_)) => {
            let other = named.is_some_and(|named| named != user.as_str());
            assert!(
                !actor.is_admin && other,
                "forbidden without naming another buyer"
            );
        }
        Err(AppError::BadQuery(_)) => {}
        Err(other) => panic!("a search refused with {other:?}"),
    }
}

fn search_request(parameters: &str) -> SearchOrdersRequest {
    let mut request = SearchOrdersRequest::default();
    for (name, value) in parameters
        .split('&')
        .filter_map(|pair| pair.split_once('='))
    {
        let value = value.to_owned();
        match name {
            "status" => request.status = Some(value),
            "text" => request.text = Some(value),
            "buyerId" => request.buyer_id = Some(value),
            "from" => request.from = Some(value),
            "to" => request.to = Some(value),
            "limit" => request.limit = value.parse().ok(),
            "cursor" => request.cursor = Some(value),
            "minPosition" => request.min_position = value.parse().ok(),
            _ => {}
        }
    }
    request
}

#[cfg(test)]
#[path = "../../../fuzz/seeds.rs"]
mod seeds;

#[cfg(test)]
mod tests {
    use super::seeds::seeds;
    use super::*;

    #[test]
    fn every_seed_of_the_page_cursor_corpus_is_parsed_without_a_panic() {
        seeds("page_cursor")
            .iter()
            .for_each(|seed| page_cursor(seed));
    }

    #[test]
    fn every_seed_of_the_search_query_corpus_is_validated_without_a_panic() {
        seeds("search_query")
            .iter()
            .for_each(|seed| search_query(seed));
    }
}
