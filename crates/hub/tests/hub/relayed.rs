//! The real relay between a bus and a test hub: the in-process bus, as `orderflow up` runs it.

use std::sync::Arc;
use std::time::Duration;

use orderflow_app::ports::bus::{Message as BusMessage, MessageBus};
use orderflow_app::push::{
    PUSH_UPDATE_MESSAGE_KIND, PushUpdateIntegrationMessage, PushUpdatePayload,
};
use orderflow_bus::{InProcessBus, InProcessConfig};
use orderflow_hub::{HubConfig, PushHub, PushRelay, start_push_relay};
use serde_json::Value;
use tokio::sync::oneshot;

use crate::support::{PATIENCE, TestHub, user_id};

/// The relay between an in-process bus and a test hub, stopped when dropped.
pub(crate) struct Relayed {
    pub(crate) bus: Arc<dyn MessageBus>,
    _relay: PushRelay,
    _stop: oneshot::Sender<()>,
}

impl Relayed {
    /// A relay to `running` from a bus of its own, with the default acknowledgement timeout.
    pub(crate) async fn start(running: &TestHub) -> Self {
        let bus: Arc<dyn MessageBus> = Arc::new(InProcessBus::new(InProcessConfig::default()));
        Self::start_on(bus, &running.hub, HubConfig::DEFAULT_ACK_TIMEOUT).await
    }

    /// A relay to `hub` from `bus` (hub instances sharing one bus each have their own
    /// queue), subscribed when this returns.
    pub(crate) async fn start_on(
        bus: Arc<dyn MessageBus>,
        hub: &PushHub,
        ack_timeout: Duration,
    ) -> Self {
        let (stop, stopped) = oneshot::channel::<()>();
        let relay = start_push_relay(hub.clone(), bus.clone(), ack_timeout, async {
            let _stopped = stopped.await;
        });
        let mut subscribed = relay.subscribed();
        tokio::time::timeout(PATIENCE, subscribed.wait_for(|subscribed| *subscribed))
            .await
            .expect("the relay subscribes at once")
            .unwrap();
        Self {
            bus,
            _relay: relay,
            _stop: stop,
        }
    }

    /// Publishes an `order-confirmed` update of `order_id` for `username`; returns the
    /// `PushUpdate` argument the client should receive.
    pub(crate) async fn publish(&self, username: &str, order_id: &str) -> Value {
        let message = PushUpdateIntegrationMessage {
            message_id: uuid::Uuid::new_v4(),
            subscriber_ids: vec![user_id(username)],
            payload: PushUpdatePayload::OrderConfirmed {
                order_id: order_id.to_owned(),
            },
        };
        let argument = message.push_update_argument();
        let published = BusMessage::json(
            PUSH_UPDATE_MESSAGE_KIND,
            "push-update.order-confirmed",
            &message,
        )
        .unwrap();
        self.bus.publish(published).await.unwrap();
        argument
    }
}
