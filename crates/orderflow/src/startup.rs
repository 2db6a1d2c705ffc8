//! Building each command's process on an already bound listener (tests bind
//! port 0): its HTTP router and its background workers (event-store
//! subscriptions, the broker relay), and serving both until shutdown.
//!
//! Every listener also serves `GET /metrics` (see `prometheus`), and every
//! request is counted and timed by its matched route.
//!
//! On shutdown the hub closes its connections with `allowReconnect`, the
//! HTTP server finishes in-flight requests, and the workers stop between
//! batches (a subscription never acknowledges a half-handled batch).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use orderflow_app::Mediator;
use orderflow_app::gateway::{
    GatewayHandlers, OrderCommands, OrderCreatedNotifier, ReadModelProjection,
    notification_subscription, read_model_subscription,
};
use orderflow_app::integration::{
    CreateOrderConsumer, IntegrationEventPublisher, create_order_subscription,
};
use orderflow_app::messaging::run_consumer;
use orderflow_app::orders::OrderHandlers;
use orderflow_app::orders::search::OrderSearch;
use orderflow_app::ports::FreshIndexes;
use orderflow_app::ports::PushInbox;
use orderflow_app::ports::SystemClock;
use orderflow_app::ports::bus::{MessageBus, SubscriptionSpec};
use orderflow_app::projections::search::rebuild::{
    BatchGate, Gated, SearchRebuilds, SwappableIndex,
};
use orderflow_app::push::PushPublisher;
use orderflow_app::subscription::{
    CatchUpSubscription, SubscriptionConfig, run_leased_subscription, run_subscription,
};
use orderflow_auth::{DevIssuer, TokenValidator};
use orderflow_http::{GatewayApi, OrdersApi, gateway_router, gateway_routes, orders_router};
use orderflow_hub::{HubConfig, PushHub, hub_router, start_push_relay};
use orderflow_search::{PostgresGenerations, TantivyGenerations};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::cli::{BackendArgs, IdpArgs, ServiceArgs, UpArgs};
use crate::health::health_router;
use crate::prometheus::{self, ScrapeSources, metrics_router};
use crate::settings::{
    IndexKind, Stores, open_bus, open_inbox, open_read_model, open_search_index, open_stores,
    public_url, token_validator,
};

/// How long the hub waits for a client to acknowledge a push.
const PUSH_ACK_TIMEOUT: Duration = Duration::from_secs(5);

/// A bound listener, the router to serve on it and the workers beside it.
pub(crate) struct Application {
    listener: TcpListener,
    router: Router,
    /// The hub, closed first on shutdown so WebSockets do not hold it up.
    hub: Option<PushHub>,
    /// What `/metrics` reads at scrape time.
    scrape: ScrapeSources,
    /// Background workers; they stop when `stop` turns true.
    workers: Vec<JoinHandle<()>>,
    stop: watch::Sender<bool>,
    /// The base URL printed for users.
    pub(crate) base_url: String,
    /// Lines describing what runs, printed at start.
    pub(crate) banner: Vec<String>,
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

async fn bind(address: SocketAddr) -> anyhow::Result<TcpListener> {
    TcpListener::bind(address)
        .await
        .with_context(|| format!("cannot listen on {address}"))
}

fn configured_issuer(backend: &BackendArgs, command: &str) -> anyhow::Result<String> {
    backend.oidc_issuer.clone().with_context(|| {
        format!("`orderflow {command}` needs ORDERFLOW_OIDC_ISSUER (e.g. the URL `orderflow idp` prints)")
    })
}

/// A shared queue's name prefixed with the exchange's (`orderflow.gateway.read-model`),
/// so that deployments sharing one RabbitMQ virtual host through different exchanges never
/// compete for each other's messages.
fn namespaced(mut spec: SubscriptionSpec, backend: &BackendArgs) -> SubscriptionSpec {
    spec.queue = format!("{}.{}", backend.amqp_exchange, spec.queue);
    spec
}

impl Application {
    fn new(listener: TcpListener, base_url: String) -> Self {
        // Installed before anything records a metric.
        prometheus::handle();
        Application {
            listener,
            router: Router::new(),
            hub: None,
            scrape: ScrapeSources::default(),
            workers: Vec::new(),
            stop: watch::channel(false).0,
            base_url,
            banner: Vec::new(),
        }
    }

    /// Everything on one listener: the dev issuer (unless an external issuer
    /// is configured), the orders API with its push publisher, and the hub.
    pub(crate) async fn up(args: UpArgs) -> anyhow::Result<Self> {
        let listener = bind(args.common.listen).await?;
        let base_url = public_url(args.common.public_url.as_deref(), listener.local_addr()?);
        let mut app = Application::new(listener, base_url);
        let issuer = match &args.backend.oidc_issuer {
            Some(issuer) => {
                app.banner.push(format!(
                    "identity:  {issuer} (ORDERFLOW_OIDC_ISSUER; the dev issuer is off)"
                ));
                issuer.clone()
            }
            None => {
                let dev_issuer = DevIssuer::load_or_create(
                    &args.common.data_dir,
                    DevIssuer::issuer_url_for_base(&app.base_url),
                    args.users.as_deref(),
                )
                .await
                .context("cannot start the dev issuer")?;
                app.banner.push(format!(
                    "identity:  {} (dev issuer)",
                    dev_issuer.issuer_url()
                ));
                let users: Vec<String> = dev_issuer
                    .users()
                    .iter()
                    .map(|user| format!("{} [{}]", user.username(), user.roles().join(", ")))
                    .collect();
                app.banner.push(format!(
                    "users:     {} (password = user name)",
                    users.join("; ")
                ));
                app.router = app.router.merge(dev_issuer.router());
                dev_issuer.issuer_url().to_owned()
            }
        };
        let validator = token_validator(&args.backend, &issuer)?;
        let stores = open_stores(&args.backend, &args.common.data_dir).await?;
        app.banner
            .push(format!("events:    {}", stores.description));
        let bus = app.open_bus(&args.backend).await?;
        app.add_orders(
            &args.backend,
            &args.common.data_dir,
            &stores,
            validator.clone(),
            bus.clone(),
        )
        .await?;
        let gateway = app
            .add_gateway(
                &args.backend,
                &args.common.data_dir,
                validator.clone(),
                bus.clone(),
            )
            .await?;
        app.router = std::mem::take(&mut app.router).merge(gateway_routes(gateway));
        // `up`'s readiness is the orders API's (the in-process bus subscribes at once).
        let inbox = app.open_inbox(&args.backend, &args.common.data_dir).await?;
        let _relay_subscribed = app.add_hub(validator, bus, inbox);
        Ok(app)
    }

    /// A server-mode component: bound, with its configured issuer's
    /// validator and its bus.
    async fn component(
        args: &ServiceArgs,
        command: &str,
    ) -> anyhow::Result<(Self, TokenValidator, Arc<dyn MessageBus>)> {
        let issuer = configured_issuer(&args.backend, command)?;
        let listener = bind(args.common.listen).await?;
        let base_url = public_url(args.common.public_url.as_deref(), listener.local_addr()?);
        let mut app = Application::new(listener, base_url);
        app.banner.push(format!("identity:  {issuer}"));
        let validator = token_validator(&args.backend, &issuer)?;
        let bus = app.open_bus(&args.backend).await?;
        Ok((app, validator, bus))
    }

    /// The orders service alone: its issuer must be configured.
    pub(crate) async fn orders(args: ServiceArgs) -> anyhow::Result<Self> {
        let (mut app, validator, bus) = Self::component(&args, "orders").await?;
        let stores = open_stores(&args.backend, &args.common.data_dir).await?;
        app.banner
            .push(format!("events:    {}", stores.description));
        app.add_orders(
            &args.backend,
            &args.common.data_dir,
            &stores,
            validator,
            bus,
        )
        .await?;
        Ok(app)
    }

    /// The API gateway alone: its issuer must be configured.
    pub(crate) async fn gateway(args: ServiceArgs) -> anyhow::Result<Self> {
        let (mut app, validator, bus) = Self::component(&args, "gateway").await?;
        let gateway = app
            .add_gateway(&args.backend, &args.common.data_dir, validator, bus)
            .await?;
        app.router = gateway_router(gateway);
        app.banner
            .push(format!("health:    {}/health/ready", app.base_url));
        Ok(app)
    }

    /// The push hub alone: its issuer must be configured.
    pub(crate) async fn push_hub(args: ServiceArgs) -> anyhow::Result<Self> {
        let (mut app, validator, bus) = Self::component(&args, "push-hub").await?;
        let inbox = app.open_inbox(&args.backend, &args.common.data_dir).await?;
        let subscribed = app.add_hub(validator, bus, inbox);
        let health = health_router(subscribed, "the broker subscription is not in place yet");
        app.router = std::mem::take(&mut app.router).merge(health);
        app.banner
            .push(format!("health:    {}/health/ready", app.base_url));
        Ok(app)
    }

    /// The dev issuer alone.
    pub(crate) async fn idp(args: IdpArgs) -> anyhow::Result<Self> {
        let listener = bind(args.common.listen).await?;
        let base_url = public_url(args.common.public_url.as_deref(), listener.local_addr()?);
        let mut app = Application::new(listener, base_url);
        let dev_issuer = DevIssuer::load_or_create(
            &args.common.data_dir,
            DevIssuer::issuer_url_for_base(&app.base_url),
            args.users.as_deref(),
        )
        .await
        .context("cannot start the dev issuer")?;
        app.banner
            .push(format!("issuer:    {}", dev_issuer.issuer_url()));
        // Loaded above, before anything is served: ready from the start.
        let key_loaded = watch::channel(true).1;
        let health = health_router(key_loaded, "the signing key is not loaded");
        app.router = dev_issuer.router().merge(health);
        app.banner
            .push(format!("health:    {}/health/ready", app.base_url));
        Ok(app)
    }

    /// The hub's push inbox, described in the banner.
    async fn open_inbox(
        &mut self,
        backend: &BackendArgs,
        data_dir: &std::path::Path,
    ) -> anyhow::Result<Arc<dyn PushInbox>> {
        let (inbox, description) = open_inbox(backend, data_dir).await?;
        self.banner.push(format!("inbox:     {description}"));
        Ok(inbox)
    }

    async fn open_bus(&mut self, backend: &BackendArgs) -> anyhow::Result<Arc<dyn MessageBus>> {
        let (bus, description) = open_bus(backend).await?;
        self.banner.push(format!("bus:       {description}"));
        Ok(bus)
    }

    /// A future that resolves when the application stops.
    fn stopped(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut stop = self.stop.subscribe();
        async move {
            let _ = stop.wait_for(|stopped| *stopped).await;
        }
    }

    /// The orders API with its search projection, and the push publisher
    /// that announces its changes.
    async fn add_orders(
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
            checkpoint_interval: Duration::from_millis(250),
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

    /// The gateway's read model, its projection and notification consumers;
    /// returns what its routes run on.
    async fn add_gateway(
        &mut self,
        backend: &BackendArgs,
        data_dir: &std::path::Path,
        validator: TokenValidator,
        bus: Arc<dyn MessageBus>,
    ) -> anyhow::Result<GatewayApi> {
        let (read_model, description) = open_read_model(backend, data_dir).await?;
        self.banner.push(format!(
            "gateway:   {}/api/orders (read model: {description})",
            self.base_url
        ));
        let stopped = self.stopped();
        self.workers.push(tokio::spawn(run_consumer(
            bus.clone(),
            namespaced(read_model_subscription(), backend),
            ReadModelProjection::new(read_model.clone()),
            stopped,
        )));
        let stopped = self.stopped();
        self.workers.push(tokio::spawn(run_consumer(
            bus.clone(),
            namespaced(notification_subscription(), backend),
            OrderCreatedNotifier::new(bus.clone()),
            stopped,
        )));
        let timeout = Duration::from_millis(backend.command_timeout_ms.max(1));
        let handlers = GatewayHandlers::new(OrderCommands::new(bus, timeout), read_model.clone());
        Ok(GatewayApi {
            mediator: Arc::new(Mediator::new(handlers)),
            read_model,
            validator,
        })
    }

    /// The SignalR hub and its relay from the bus (which subscribes in the background,
    /// retrying); returns whether the relay's subscription is in place.
    fn add_hub(
        &mut self,
        validator: TokenValidator,
        bus: Arc<dyn MessageBus>,
        inbox: Arc<dyn PushInbox>,
    ) -> watch::Receiver<bool> {
        let hub = PushHub::with_inbox(validator, HubConfig::default(), inbox);
        let relay = start_push_relay(hub.clone(), bus, PUSH_ACK_TIMEOUT, self.stopped());
        let subscribed = relay.subscribed();
        self.workers.push(tokio::spawn(relay.stopped()));
        self.router = std::mem::take(&mut self.router).merge(hub_router(hub.clone()));
        self.scrape.hub = Some(hub.clone());
        self.banner
            .push(format!("push hub:  {}/hubs/push-updates", self.base_url));
        self.hub = Some(hub);
        subscribed
    }

    pub(crate) fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` resolves; then closes the hub's connections,
    /// finishes in-flight requests and stops the workers.
    pub(crate) async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let Application {
            listener,
            router,
            hub,
            scrape,
            mut workers,
            stop,
            ..
        } = self;
        let router = router
            .merge(metrics_router(scrape))
            .layer(axum::middleware::from_fn(orderflow_http::record_request));
        let mut stopped = stop.subscribe();
        workers.push(tokio::spawn(async move {
            let mut upkeep = tokio::time::interval(prometheus::UPKEEP_INTERVAL);
            loop {
                tokio::select! {
                    _ = stopped.wait_for(|stopped| *stopped) => return,
                    _ = upkeep.tick() => prometheus::handle().run_upkeep(),
                }
            }
        }));
        let graceful = async move {
            shutdown.await;
            stop.send_replace(true);
            if let Some(hub) = hub {
                hub.shutdown().await;
            }
        };
        let served = axum::serve(listener, router)
            .with_graceful_shutdown(graceful)
            .await
            .context("the HTTP server failed");
        for worker in workers {
            if tokio::time::timeout(Duration::from_secs(10), worker)
                .await
                .is_err()
            {
                tracing::warn!("a worker did not stop within 10 s");
            }
        }
        served
    }
}
