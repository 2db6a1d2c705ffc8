//! The handlers of the order requests: load → decide → append.

use std::sync::Arc;

use async_trait::async_trait;
use orderflow_domain::{
    AddSubscription, CreateOrder, Order, OrderCommand, OrderId, UserId, decide, evolve, fold,
};

use super::OrderChange;
use super::repository::{load, new_events, stream_of};
use super::requests::{
    CancelOrderRequest, ConfirmOrderRequest, GetOrderRequest, PlaceOrderRequest,
    SubscribeToOrderRequest,
};
use super::search::{OrderSearch, RebuildControl};
use super::visibility::may_see;
use crate::context::RequestContext;
use crate::error::AppError;
use crate::mediator::{Handle, Request};
use crate::ports::{Clock, EventStore, EventStoreError, ExpectedRevision};

/// Loads tried before a lost race becomes a 409.
const MAX_ATTEMPTS: usize = 3;

/// The order use cases over an event store and a clock, and the searches
/// over the order index when there is one.
#[derive(Clone)]
pub struct OrderHandlers {
    store: Arc<dyn EventStore>,
    clock: Arc<dyn Clock>,
    search: Option<OrderSearch>,
}

impl std::fmt::Debug for OrderHandlers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrderHandlers").finish_non_exhaustive()
    }
}

impl OrderHandlers {
    pub fn new(store: Arc<dyn EventStore>, clock: Arc<dyn Clock>) -> Self {
        OrderHandlers {
            store,
            clock,
            search: None,
        }
    }

    /// The same handlers, answering searches from `search`.
    pub fn with_search(mut self, search: OrderSearch) -> Self {
        self.search = Some(search);
        self
    }

    pub(crate) fn search(&self) -> Result<&OrderSearch, AppError> {
        self.search.as_ref().ok_or(AppError::SearchNotConfigured)
    }

    pub(crate) fn rebuilds(&self) -> Result<&dyn RebuildControl, AppError> {
        self.search
            .as_ref()
            .and_then(|search| search.rebuilds.as_deref())
            .ok_or(AppError::RebuildNotOffered)
    }

    /// Load → check access → decide → append at the loaded revision,
    /// retried from a fresh load when a concurrent change won the race.
    async fn change(
        &self,
        context: &RequestContext,
        request: &str,
        order_id: OrderId,
        command: OrderCommand,
    ) -> Result<OrderChange, AppError> {
        let stream = stream_of(order_id)?;
        let mut attempt = 1;
        loop {
            let loaded = load(self.store.as_ref(), order_id).await?;
            let (Some(order), Some(revision)) = (loaded.order, loaded.revision) else {
                return Err(AppError::NotFound);
            };
            if !may_see(&context.actor, order.buyer_id().as_str()) {
                return Err(AppError::NotFound);
            }
            let now = self.clock.now();
            let events = decide(Some(&order), &command, now)?;
            if events.is_empty() {
                return Ok(OrderChange {
                    order,
                    position: None,
                });
            }
            let appended = self
                .store
                .append(
                    &stream,
                    ExpectedRevision::Exact(revision),
                    new_events(context, request, &events, now),
                )
                .await;
            match appended {
                Ok(outcome) => {
                    let order = events.iter().fold(Some(order), evolve);
                    let order = order.ok_or_else(|| AppError::internal("fold lost the order"))?;
                    return Ok(OrderChange {
                        order,
                        position: Some(outcome.last_position),
                    });
                }
                Err(EventStoreError::WrongExpectedRevision { .. }) if attempt < MAX_ATTEMPTS => {
                    tracing::debug!(attempt, "order changed concurrently, deciding again");
                    attempt += 1;
                }
                Err(error) => return Err(error.into()),
            }
        }
    }
}

#[async_trait]
impl Handle<PlaceOrderRequest> for OrderHandlers {
    async fn handle(
        &self,
        context: &RequestContext,
        create: CreateOrder,
    ) -> Result<OrderChange, AppError> {
        let order_id = create.order_id;
        let stream = stream_of(order_id)?;
        let now = self.clock.now();
        let command = OrderCommand::Create(create);
        let events = decide(None, &command, now)?;
        let OrderCommand::Create(create) = command else {
            unreachable!("the command was built as Create just above")
        };
        let outcome = self
            .store
            .append(
                &stream,
                ExpectedRevision::NoStream,
                new_events(context, PlaceOrderRequest::NAME, &events, now),
            )
            .await
            .map_err(|error| match error {
                // Ids come from the idempotency key: an existing stream means
                // the key was used before, for something else.
                EventStoreError::WrongExpectedRevision { .. }
                    if context.idempotency_key.is_some() =>
                {
                    AppError::IdempotencyKeyReused
                }
                error => error.into(),
            })?;
        if !outcome.deduplicated {
            let order = fold(&events).ok_or_else(|| AppError::internal("fold lost the order"))?;
            return Ok(OrderChange {
                order,
                position: Some(outcome.last_position),
            });
        }
        // A retry with the same idempotency key: answer with the first order,
        // if it really is the same request.
        let Some(order) = load(self.store.as_ref(), order_id).await?.order else {
            return Err(AppError::internal("a deduplicated order is missing"));
        };
        let same_request = order.buyer_id() == &create.buyer_id
            && order.currency() == create.currency
            && order.lines() == create.lines.as_slice();
        if !same_request {
            return Err(AppError::IdempotencyKeyReused);
        }
        Ok(OrderChange {
            order,
            position: Some(outcome.last_position),
        })
    }
}

#[async_trait]
impl Handle<ConfirmOrderRequest> for OrderHandlers {
    async fn handle(
        &self,
        context: &RequestContext,
        order_id: OrderId,
    ) -> Result<OrderChange, AppError> {
        let command = OrderCommand::Confirm(orderflow_domain::ConfirmOrder { order_id });
        self.change(context, ConfirmOrderRequest::NAME, order_id, command)
            .await
    }
}

#[async_trait]
impl Handle<CancelOrderRequest> for OrderHandlers {
    async fn handle(
        &self,
        context: &RequestContext,
        cancel: CancelOrderRequest,
    ) -> Result<OrderChange, AppError> {
        let command = OrderCommand::Cancel(orderflow_domain::CancelOrder {
            order_id: cancel.order_id,
            reason: cancel.reason,
        });
        self.change(context, CancelOrderRequest::NAME, cancel.order_id, command)
            .await
    }
}

#[async_trait]
impl Handle<SubscribeToOrderRequest> for OrderHandlers {
    async fn handle(
        &self,
        context: &RequestContext,
        (order_id, subscriber_id): (OrderId, UserId),
    ) -> Result<OrderChange, AppError> {
        let command = OrderCommand::AddSubscription(AddSubscription {
            order_id,
            subscriber_id,
        });
        self.change(context, SubscribeToOrderRequest::NAME, order_id, command)
            .await
    }
}

#[async_trait]
impl Handle<GetOrderRequest> for OrderHandlers {
    async fn handle(&self, context: &RequestContext, order_id: OrderId) -> Result<Order, AppError> {
        match load(self.store.as_ref(), order_id).await?.order {
            Some(order) if may_see(&context.actor, order.buyer_id().as_str()) => Ok(order),
            _ => Err(AppError::NotFound),
        }
    }
}
