//! The text form of the keyset cursors that clients echo back to page on,
//! shared by the order search and the gateway's order list.
//!
//! A cursor is the sort key of a page's last item, newest first:
//! `{created_at in µs since the epoch, 16 hex digits of its two's
//! complement}.{the item's uuid, 32 hex digits}`. Clients treat it as
//! opaque; [`PageCursor::parse`] accepts exactly what [`PageCursor`]'s
//! `Display` writes and refuses anything else with [`InvalidCursor`].

use std::fmt;

use time::OffsetDateTime;
use uuid::Uuid;

use crate::ports::search::unix_micros;
use crate::ports::{OrderListCursor, SearchCursor};

/// Where a page ended: the creation time and id of its last item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageCursor {
    pub created_at_micros: i64,
    pub id: Uuid,
}

/// A text that is not a cursor this API gave out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`cursor` is not a cursor this API gave out")]
pub struct InvalidCursor;

impl PageCursor {
    pub fn parse(text: &str) -> Result<Self, InvalidCursor> {
        let (micros, id) = text.split_once('.').ok_or(InvalidCursor)?;
        // Exactly what `Display` writes: lower-case hex digits only (no sign, no `A`-`F`).
        let written = |part: &str, digits: usize| {
            part.len() == digits && part.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        };
        if !written(micros, 16) || !written(id, 32) {
            return Err(InvalidCursor);
        }
        let bits = u64::from_str_radix(micros, 16).map_err(|_| InvalidCursor)?;
        let id = Uuid::try_parse(id).map_err(|_| InvalidCursor)?;
        Ok(PageCursor {
            created_at_micros: bits.cast_signed(),
            id,
        })
    }
}

impl fmt::Display for PageCursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bits = self.created_at_micros.cast_unsigned();
        write!(f, "{bits:016x}.{}", self.id.simple())
    }
}

impl From<SearchCursor> for PageCursor {
    fn from(cursor: SearchCursor) -> Self {
        PageCursor {
            created_at_micros: cursor.created_at_micros,
            id: cursor.order_id,
        }
    }
}

impl From<PageCursor> for SearchCursor {
    fn from(cursor: PageCursor) -> Self {
        SearchCursor {
            created_at_micros: cursor.created_at_micros,
            order_id: cursor.id,
        }
    }
}

impl From<OrderListCursor> for PageCursor {
    fn from(cursor: OrderListCursor) -> Self {
        PageCursor {
            created_at_micros: unix_micros(cursor.created_at),
            id: cursor.id,
        }
    }
}

impl TryFrom<PageCursor> for OrderListCursor {
    type Error = InvalidCursor;

    fn try_from(cursor: PageCursor) -> Result<Self, InvalidCursor> {
        let nanos = i128::from(cursor.created_at_micros) * 1_000;
        let created_at =
            OffsetDateTime::from_unix_timestamp_nanos(nanos).map_err(|_| InvalidCursor)?;
        Ok(OrderListCursor {
            created_at,
            id: cursor.id,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_round_trips_through_its_text_and_garbage_is_refused() {
        for micros in [0, 1_767_323_045_123_456, -5, i64::MAX, i64::MIN] {
            let cursor = PageCursor {
                created_at_micros: micros,
                id: Uuid::now_v7(),
            };
            assert_eq!(PageCursor::parse(&cursor.to_string()), Ok(cursor));
        }
        for bad in [
            "",
            "abc",
            "0.0",
            "12.notauuid",
            "zzzzzzzzzzzzzzzz.00000000000000000000000000000000",
            // found by the fuzzer: read, but written otherwise
            "0000000000070000.019000000000700080000004B63000ab",
            "+000000000070000.019000000000700080000004b63000ab",
            "00000000000700FF.019000000000700080000004b63000ab",
        ] {
            assert_eq!(PageCursor::parse(bad), Err(InvalidCursor));
        }
    }

    #[test]
    fn a_list_cursor_survives_the_round_trip_and_an_impossible_time_is_refused() {
        let cursor = OrderListCursor {
            created_at: OffsetDateTime::from_unix_timestamp_nanos(1_700_000_000_123_456_000)
                .unwrap(),
            id: Uuid::now_v7(),
        };
        let text = PageCursor::from(cursor).to_string();
        let back = OrderListCursor::try_from(PageCursor::parse(&text).unwrap());
        assert_eq!(back, Ok(cursor));
        let far = PageCursor {
            created_at_micros: i64::MAX,
            id: Uuid::now_v7(),
        };
        assert_eq!(OrderListCursor::try_from(far), Err(InvalidCursor));
    }
}
