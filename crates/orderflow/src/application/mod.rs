//! Building one process of orderflow — `up`, or one component — on a
//! listener it binds itself ([`Application::build`]; tests pass port 0 and
//! read [`Application::local_addr`]): its HTTP router and its background
//! workers (event-store subscriptions, bus consumers, the broker relay),
//! and serving both until shutdown ([`Application::run_until`]).
//!
//! The wiring is one file per slice: `orders` (the orders API, its search
//! projection and rebuilds, the command consumer, the two outboxes),
//! `gateway` (its read model and consumers), `hub` (the push hub and its
//! relay), `console` (the web console's static files, in `up` and `gateway`),
//! `components` (which slices each command runs).
//!
//! Every listener also serves `GET /metrics` (see `prometheus`), and every
//! request is counted and timed by its matched route.
//!
//! On shutdown the hub closes its connections with `allowReconnect`, the
//! HTTP server finishes in-flight requests, and the workers stop between
//! batches (a subscription never acknowledges a half-handled batch).

mod components;
mod console;
mod gateway;
mod hub;
mod orders;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use orderflow_app::ports::bus::{MessageBus, SubscriptionSpec};
use orderflow_http::ConnectionLimits;
use orderflow_hub::PushHub;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::adapters::open_bus;
use crate::cli::BackendArgs;
use crate::prometheus::{self, ScrapeSources, metrics_router};
use crate::settings::Settings;
use crate::tunables;

/// A bound listener, the router to serve on it and the workers beside it.
pub struct Application {
    listener: TcpListener,
    /// Header read timeout, idle timeout and connection cap of the listener.
    limits: ConnectionLimits,
    router: Router,
    /// The hub, closed first on shutdown so WebSockets do not hold it up.
    hub: Option<PushHub>,
    /// What `/metrics` reads at scrape time.
    scrape: ScrapeSources,
    /// Background workers; they stop when `stop` turns true.
    workers: Vec<JoinHandle<()>>,
    stop: watch::Sender<bool>,
    /// The base URL printed for users.
    base_url: String,
    /// Lines describing what runs, printed at start.
    banner: Vec<String>,
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
    spec.metric_label = format!("{}.{}", backend.amqp_exchange, spec.metric_label);
    spec
}

impl Application {
    fn new(listener: TcpListener, base_url: String, limits: ConnectionLimits) -> Self {
        // Installed before anything records a metric.
        prometheus::handle();
        Application {
            listener,
            limits,
            router: Router::new(),
            hub: None,
            scrape: ScrapeSources::default(),
            workers: Vec::new(),
            stop: watch::channel(false).0,
            base_url,
            banner: Vec::new(),
        }
    }

    /// Binds the listener `settings` name and wires the component they ask for.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        match settings {
            Settings::Up(args) => Self::up(args).await,
            Settings::Orders(args) => Self::orders(args).await,
            Settings::Gateway(args) => Self::gateway(args).await,
            Settings::PushHub(args) => Self::push_hub(args).await,
            Settings::Idp(args) => Self::idp(args).await,
        }
    }

    /// The base URL clients use (the public URL, or the bound address).
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Lines describing what runs, for the start-up banner.
    pub fn banner(&self) -> &[String] {
        &self.banner
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

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` resolves; then closes the hub's connections,
    /// finishes in-flight requests and stops the workers.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let Application {
            listener,
            limits,
            router,
            hub,
            scrape,
            mut workers,
            stop,
            ..
        } = self;
        let router = router
            .merge(metrics_router(scrape))
            .layer(axum::middleware::from_fn(orderflow_http::record_request))
            .layer(axum::middleware::from_fn(orderflow_http::trace_request));
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
        orderflow_http::serve(listener, router, limits, graceful).await;
        for worker in workers {
            if tokio::time::timeout(tunables::WORKER_STOP_WAIT, worker)
                .await
                .is_err()
            {
                tracing::warn!("a worker did not stop within 10 s");
            }
        }
        Ok(())
    }
}
