//! The gateway's projection consumer: keeps its read model from the order
//! integration events.
//!
//! Guarantees: every `OrderCreatedIntegrationEvent` fills an order's details
//! and every confirmed/cancelled event sets its status by revision, through
//! the read model's idempotent, order-independent updates — so redeliveries,
//! competing consumers and out-of-order arrival all converge on the same
//! row. A store failure requeues the message; a body that does not decode is
//! dead-lettered; other kinds are acknowledged and ignored.

use std::sync::Arc;

use async_trait::async_trait;

use crate::integration::messages::{
    ORDER_CANCELLED_KIND, ORDER_CONFIRMED_KIND, ORDER_CREATED_KIND, OrderCreatedIntegrationEvent,
    OrderStatusIntegrationEvent,
};
use crate::messaging::{Handled, MessageHandler};
use crate::ports::bus::Delivery;
use crate::ports::read_model::OrderReadModel;

/// Applies integration events to the read model.
#[derive(Debug, Clone)]
pub struct ReadModelProjection {
    read_model: Arc<dyn OrderReadModel>,
}

impl ReadModelProjection {
    pub fn new(read_model: Arc<dyn OrderReadModel>) -> Self {
        ReadModelProjection { read_model }
    }
}

#[async_trait]
impl MessageHandler for ReadModelProjection {
    async fn handle(&self, delivery: &Delivery) -> Handled {
        let message = &delivery.message;
        let applied = match message.kind.as_str() {
            ORDER_CREATED_KIND => match message.decode::<OrderCreatedIntegrationEvent>() {
                Ok(event) => self.read_model.record_created(&event.created_order()).await,
                Err(error) => return Handled::Poison(error.to_string()),
            },
            ORDER_CONFIRMED_KIND | ORDER_CANCELLED_KIND => {
                match message.decode::<OrderStatusIntegrationEvent>() {
                    Ok(event) => self.read_model.record_status(&event.status_change()).await,
                    Err(error) => return Handled::Poison(error.to_string()),
                }
            }
            _ => return Handled::Done,
        };
        match applied {
            Ok(()) => Handled::Done,
            Err(error) => Handled::Retry(error.to_string()),
        }
    }
}
