//! Wiring the orders slice: the orders API over the mediator, its search
//! projection (through a swappable, gated index so a rebuild can swap a
//! fresh one in between batches), the create-order command consumer, and
//! the two outboxes (push publisher, integration events), each on its own
//! event-store subscription, under a lease in server mode.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use orderflow_app::Mediator;
use orderflow_app::integration::{
    CreateOrderConsumer, IntegrationEventPublisher, create_order_subscription,
};
use orderflow_app::messaging::run_consumer;
use orderflow_app::orders::OrderHandlers;
use orderflow_app::orders::search::OrderSearch;
use orderflow_app::ports::FreshIndexes;
use orderflow_app::ports::SystemClock;
use orderflow_app::ports::bus::MessageBus;
use orderflow_app::projections::search::rebuild::{
    BatchGate, Gated, SearchRebuilds, SwappableIndex,
};
use orderflow_app::push::PushPublisher;
use orderflow_app::subscription::{
    CatchUpSubscription, SubscriptionConfig, run_leased_subscription, run_subscription,
};
use orderflow_auth::TokenValidator;
use orderflow_http::{OrdersApi, orders_router};
use orderflow_search::{PostgresGenerations, TantivyGenerations};

use super::{Application, namespaced};
use crate::adapters::{IndexKind, Stores, open_search_index};
use crate::cli::BackendArgs;
use crate::tunables;

impl Application {
    /// The orders API with its search projection, and the push publisher
    /// that announces its changes.
    pub(super) async fn add_orders(
        &mut self,
        backend: &BackendArgs,
        data_dir: &std::path::Path,
        stores: &Stores,
        validator: TokenValidator,
        bus: Arc<dyn MessageBus>,
    ) -> anyhow::Result<()> {
        self.scrape.events = Some(stores.events.clone());
        let (index, index_description, index_kind) = open_search_index(backend, data_dir).await?;
        self.banner.push(format!("search:    {index_description}"));
        // The projection writes through a swappable index, one gated batch
        // at a time, so a rebuild can swap a fresh index in between batches.
        let live = Arc::new(SwappableIndex::new(index));
        let gate = BatchGate::default();
        let (subscription, projection) = orderflow_app::projections::search::subscribe(
            stores.events.clone(),
            live.clone(),
            orderflow_app::projections::search::subscription_config(),
        )
        .await
        .context("cannot open the search projection's subscription")?;
        let progress = projection.progress();
        let stopped = self.stopped();
        self.workers.push(tokio::spawn(run_subscription(
            subscription,
            Gated::new(projection, gate.clone()),
            stopped,
        )));
        let fresh: Arc<dyn FreshIndexes> = match index_kind {
            IndexKind::Tantivy(directory) => Arc::new(TantivyGenerations::new(data_dir, directory)),
            IndexKind::Postgres(index) => {
                // Other instances rebuild the shared index too: follow them.
                let grace = Duration::from_millis(backend.search_rebuild_grace_ms);
                let generations = Arc::new(PostgresGenerations::new(&index, grace));
                self.workers.push(tokio::spawn(generations.clone().follow(
                    stores.events.clone(),
                    live.clone(),
                    gate.clone(),
                    progress.clone(),
                    self.stopped(),
                )));
                generations
            }
        };
        let rebuilds = SearchRebuilds::new(stores.events.clone(), live.clone(), gate, fresh);
        let search = OrderSearch {
            index: live,
            progress,
            rebuilds: Some(Arc::new(rebuilds)),
        };
        let mediator = Arc::new(Mediator::new(
            OrderHandlers::new(stores.events.clone(), Arc::new(SystemClock)).with_search(search),
        ));
        let stopped = self.stopped();
        self.workers.push(tokio::spawn(run_consumer(
            bus.clone(),
            namespaced(create_order_subscription(), backend),
            CreateOrderConsumer::new(mediator.clone()),
            stopped,
        )));
        let router = orders_router(OrdersApi {
            mediator,
            validator,
            store: stores.events.clone(),
        });
        self.router = std::mem::take(&mut self.router).merge(router);
        self.spawn_outbox(
            stores,
            IntegrationEventPublisher::new(bus.clone()),
            IntegrationEventPublisher::SUBSCRIPTION,
        )
        .await?;
        self.spawn_outbox(
            stores,
            PushPublisher::new(stores.events.clone(), bus),
            PushPublisher::SUBSCRIPTION,
        )
        .await?;
        self.banner
            .push(format!("orders:    {}/orders", self.base_url));
        self.banner
            .push(format!("health:    {}/health/ready", self.base_url));
        Ok(())
    }

    /// An outbox publisher on its own event-store subscription. A replay
    /// republishes the same message ids, which consumers drop, so the
    /// checkpoint is stored at most every 250 ms. In server mode it runs
    /// under a lease: one instance of the deployment publishes at a time.
    async fn spawn_outbox<H: orderflow_app::subscription::EventHandler + 'static>(
        &mut self,
        stores: &Stores,
        handler: H,
        name: &str,
    ) -> anyhow::Result<()> {
        let config = SubscriptionConfig {
            checkpoint_interval: tunables::OUTBOX_CHECKPOINT_INTERVAL,
            ..SubscriptionConfig::new(name)
        };
        let stopped = self.stopped();
        if let Some(leases) = &stores.leases {
            self.workers.push(tokio::spawn(run_leased_subscription(
                leases.clone(),
                stores.events.clone(),
                stores.checkpoints.clone(),
                config,
                handler,
                stopped,
            )));
            return Ok(());
        }
        let subscription =
            CatchUpSubscription::open(stores.events.clone(), stores.checkpoints.clone(), config)
                .await
                .with_context(|| format!("cannot open the {name} subscription"))?;
        self.workers.push(tokio::spawn(run_subscription(
            subscription,
            handler,
            stopped,
        )));
        Ok(())
    }
}
