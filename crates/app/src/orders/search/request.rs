//! The search requests and their validation: query parameters as the client
//! sent them become a scoped [`SearchQuery`], or a typed refusal.

use orderflow_domain::{OrderStatus, UserId};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::RebuildStatus;
use crate::context::{Actor, RequestContext};
use crate::error::AppError;
use crate::mediator::Request;
use crate::orders::visibility::own_orders_only;
use crate::page_cursor::PageCursor;
use crate::ports::{Position, SearchPage, SearchQuery, SearchQueryError, SearchScope};

/// `GET /orders`: the query parameters, unparsed.
#[derive(Debug, Clone, Default)]
pub struct SearchOrdersRequest {
    pub status: Option<String>,
    pub text: Option<String>,
    pub buyer_id: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
    pub min_position: Option<u64>,
}

/// A search ready to run.
#[derive(Debug, Clone)]
pub struct ValidatedSearch {
    pub query: SearchQuery,
    pub min_position: Option<Position>,
}

/// One page of results, and how far the index had got.
#[derive(Debug, Clone)]
pub struct SearchOrdersResult {
    pub page: SearchPage,
    /// The position the index had reached when it was searched.
    pub position: Position,
    /// False when `min_position` was asked for and not reached in time.
    pub up_to_date: bool,
}

impl Request for SearchOrdersRequest {
    type Validated = ValidatedSearch;
    type Response = SearchOrdersResult;
    const NAME: &'static str = "search_orders";

    fn authorize(&self, actor: &Actor) -> Result<(), AppError> {
        if actor.is_admin || actor.is_buyer {
            Ok(())
        } else {
            Err(AppError::Forbidden(
                "only admins and buyers can search orders",
            ))
        }
    }

    fn validate(self, context: &RequestContext) -> Result<ValidatedSearch, AppError> {
        let scope = match own_orders_only(&context.actor) {
            None => SearchScope::Everyone,
            Some(own) => SearchScope::Buyer(own.clone()),
        };
        let mut query = SearchQuery::new(scope);
        if let Some(status) = &self.status {
            let status = OrderStatus::parse(status).ok_or_else(|| {
                AppError::BadQuery("`status` is one of pending, confirmed, cancelled".into())
            })?;
            query = query.with_status(status);
        }
        if let Some(text) = self.text.as_deref().filter(|text| !text.trim().is_empty()) {
            query = query.with_text(text).map_err(refused)?;
        }
        if let Some(buyer) = &self.buyer_id {
            let buyer =
                UserId::parse(buyer).map_err(|error| AppError::BadQuery(error.to_string()))?;
            query = query.with_buyer(buyer).map_err(refused)?;
        }
        if self.from.is_some() || self.to.is_some() {
            let from = self
                .from
                .as_deref()
                .map(|t| timestamp("from", t))
                .transpose()?;
            let to = self.to.as_deref().map(|t| timestamp("to", t)).transpose()?;
            query = query.with_created_between(from, to).map_err(refused)?;
        }
        if let Some(limit) = self.limit {
            query = query.with_limit(limit).map_err(refused)?;
        }
        if let Some(cursor) = &self.cursor {
            let cursor =
                PageCursor::parse(cursor).map_err(|error| AppError::BadQuery(error.to_string()))?;
            query = query.after(cursor.into());
        }
        Ok(ValidatedSearch {
            query,
            min_position: self.min_position.map(Position::new),
        })
    }
}

fn timestamp(name: &str, text: &str) -> Result<OffsetDateTime, AppError> {
    OffsetDateTime::parse(text, &Rfc3339)
        .map_err(|_| AppError::BadQuery(format!("`{name}` must be an RFC 3339 timestamp")))
}

fn refused(error: SearchQueryError) -> AppError {
    match error {
        SearchQueryError::OtherBuyer => {
            AppError::Forbidden("a buyer can search only their own orders")
        }
        other => AppError::BadQuery(other.to_string()),
    }
}

/// `POST /admin/search/rebuild` (admins).
#[derive(Debug, Clone, Default)]
pub struct StartSearchRebuildRequest;

/// `GET /admin/search/rebuild` (admins).
#[derive(Debug, Clone, Default)]
pub struct SearchRebuildStatusRequest;

fn admins_only(actor: &Actor) -> Result<(), AppError> {
    if actor.is_admin {
        Ok(())
    } else {
        Err(AppError::Forbidden("only admins rebuild the search index"))
    }
}

impl Request for StartSearchRebuildRequest {
    type Validated = ();
    type Response = RebuildStatus;
    const NAME: &'static str = "start_search_rebuild";

    fn authorize(&self, actor: &Actor) -> Result<(), AppError> {
        admins_only(actor)
    }

    fn validate(self, _: &RequestContext) -> Result<(), AppError> {
        Ok(())
    }
}

impl Request for SearchRebuildStatusRequest {
    type Validated = ();
    type Response = RebuildStatus;
    const NAME: &'static str = "search_rebuild_status";

    fn authorize(&self, actor: &Actor) -> Result<(), AppError> {
        admins_only(actor)
    }

    fn validate(self, _: &RequestContext) -> Result<(), AppError> {
        Ok(())
    }
}
