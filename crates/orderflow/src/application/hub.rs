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
        inbox: Option<Arc<dyn PushInbox>>,
    ) -> watch::Receiver<bool> {
        let hub = match inbox {
            Some(inbox) => PushHub::with_inbox(validator, HubConfig::default(), inbox),
            None => PushHub::new(validator, HubConfig::default()),
        };
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

    /// The hub's push inbox, described in the banner; none when it may keep nothing
    /// (`ORDERFLOW_INBOX_MAX_PER_USER=0`): pushes then reach only connected users.
    pub(super) async fn open_inbox(
        &mut self,
        backend: &BackendArgs,
        data_dir: &std::path::Path,
    ) -> anyhow::Result<Option<Arc<dyn PushInbox>>> {
        if backend.inbox_max_per_user == 0 {
            self.banner.push(
                "inbox:     off (ORDERFLOW_INBOX_MAX_PER_USER=0): pushes reach connected users only"
                    .to_owned(),
            );
            return Ok(None);
        }
        let (inbox, description) = open_inbox(backend, data_dir).await?;
        self.banner.push(format!("inbox:     {description}"));
        Ok(Some(inbox))
    }
}
