//! The search requests' handlers: run the query after the read-your-writes
//! wait; start and follow rebuilds.

use async_trait::async_trait;

use super::{
    READ_YOUR_WRITES_WAIT, RebuildStatus, SearchOrdersRequest, SearchOrdersResult,
    SearchRebuildStatusRequest, StartSearchRebuildRequest, ValidatedSearch,
};
use crate::context::RequestContext;
use crate::error::AppError;
use crate::mediator::Handle;
use crate::orders::OrderHandlers;

#[async_trait]
impl Handle<SearchOrdersRequest> for OrderHandlers {
    async fn handle(
        &self,
        _: &RequestContext,
        search: ValidatedSearch,
    ) -> Result<SearchOrdersResult, AppError> {
        let order_search = self.search()?;
        let mut progress = order_search.progress.clone();
        let up_to_date = match search.min_position {
            None => true,
            Some(wanted) => tokio::time::timeout(
                READ_YOUR_WRITES_WAIT,
                progress.wait_for(|reached| *reached >= wanted),
            )
            .await
            .is_ok_and(|waited| waited.is_ok()),
        };
        let position = *progress.borrow();
        let page = order_search.index.search(&search.query).await?;
        Ok(SearchOrdersResult {
            page,
            position,
            up_to_date,
        })
    }
}

#[async_trait]
impl Handle<StartSearchRebuildRequest> for OrderHandlers {
    async fn handle(&self, _: &RequestContext, (): ()) -> Result<RebuildStatus, AppError> {
        let rebuilds = self.rebuilds()?;
        if !rebuilds.start() {
            return Err(AppError::Conflict {
                code: "rebuild_running",
                message: "a search rebuild is already running; follow it at /admin/search/rebuild"
                    .into(),
            });
        }
        Ok(rebuilds.status())
    }
}

#[async_trait]
impl Handle<SearchRebuildStatusRequest> for OrderHandlers {
    async fn handle(&self, _: &RequestContext, (): ()) -> Result<RebuildStatus, AppError> {
        Ok(self.rebuilds()?.status())
    }
}
