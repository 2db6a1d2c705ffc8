//! Wiring the push hub: the SignalR hub with its durable push inbox, its
//! relay from the bus (which subscribes in the background, retrying), and
//! its routes.

use std::sync::Arc;

use orderflow_app::ports::PushInbox;
use orderflow_app::ports::bus::MessageBus;
use orderflow_auth::TokenValidator;
use orderflow_hub::{HubConfig, PushHub, hub_router, start_push_relay};
use tokio::sync::watch;

use super::Application;
use crate::adapters::open_inbox;
use crate::cli::BackendArgs;

impl Application {
    /// The SignalR hub and its relay from the bus (which subscribes in the background,
    /// retrying); returns whether the relay's subscription is in place.
    pub(super) fn add_hub(
        &mut self,
        validator: TokenValidator,
        bus: Arc<dyn MessageBus>,
        inbox: Arc<dyn PushInbox>,
    ) -> watch::Receiver<bool> {
        let hub = PushHub::with_inbox(validator, HubConfig::default(), inbox);
        let relay = start_push_relay(
            hub.clone(),
            bus,
            HubConfig::DEFAULT_ACK_TIMEOUT,
            self.stopped(),
        );
        let subscribed = relay.subscribed();
        self.workers.push(tokio::spawn(relay.stopped()));
        self.router = std::mem::take(&mut self.router).merge(hub_router(hub.clone()));
        self.scrape.hub = Some(hub.clone());
        self.banner
            .push(format!("push hub:  {}/hubs/push-updates", self.base_url));
        self.hub = Some(hub);
        subscribed
    }

    /// The hub's push inbox, described in the banner.
    pub(super) async fn open_inbox(
        &mut self,
        backend: &BackendArgs,
        data_dir: &std::path::Path,
    ) -> anyhow::Result<Arc<dyn PushInbox>> {
        let (inbox, description) = open_inbox(backend, data_dir).await?;
        self.banner.push(format!("inbox:     {description}"));
        Ok(inbox)
    }
}
