//! Building the HTTP application of each command on an already bound
//! listener (tests bind port 0), and serving it until shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use orderflow_app::Mediator;
use orderflow_app::orders::OrderHandlers;
use orderflow_app::ports::SystemClock;
use orderflow_auth::DevIssuer;
use orderflow_http::{OrdersApi, orders_router};
use tokio::net::TcpListener;

use crate::cli::{IdpArgs, ServiceArgs, UpArgs};
use crate::settings::{event_store_description, open_event_store, public_url, token_validator};

/// A bound listener and the router to serve on it.
#[derive(Debug)]
pub(crate) struct Application {
    listener: TcpListener,
    router: Router,
    /// The base URL printed for users.
    pub(crate) base_url: String,
    /// Lines describing what runs, printed at start.
    pub(crate) banner: Vec<String>,
}

async fn bind(address: SocketAddr) -> anyhow::Result<TcpListener> {
    TcpListener::bind(address)
        .await
        .with_context(|| format!("cannot listen on {address}"))
}

impl Application {
    /// Everything on one listener: the dev issuer (unless an external issuer
    /// is configured) and the orders API.
    pub(crate) async fn up(args: UpArgs) -> anyhow::Result<Self> {
        let listener = bind(args.common.listen).await?;
        let base_url = public_url(args.common.public_url.as_deref(), listener.local_addr()?);
        let mut router = Router::new();
        let mut banner = Vec::new();
        let issuer = match &args.backend.oidc_issuer {
            Some(issuer) => {
                banner.push(format!(
                    "identity:  {issuer} (ORDERFLOW_OIDC_ISSUER; the dev issuer is off)"
                ));
                issuer.clone()
            }
            None => {
                let dev_issuer = DevIssuer::load_or_create(
                    &args.common.data_dir,
                    DevIssuer::issuer_url_for_base(&base_url),
                    args.users.as_deref(),
                )
                .await
                .context("cannot start the dev issuer")?;
                banner.push(format!(
                    "identity:  {} (dev issuer)",
                    dev_issuer.issuer_url()
                ));
                let users: Vec<String> = dev_issuer
                    .users()
                    .iter()
                    .map(|user| format!("{} [{}]", user.username(), user.roles().join(", ")))
                    .collect();
                banner.push(format!(
                    "users:     {} (password = user name)",
                    users.join("; ")
                ));
                router = router.merge(dev_issuer.router());
                dev_issuer.issuer_url().to_owned()
            }
        };
        let store = open_event_store(&args.backend, &args.common.data_dir).await?;
        banner.push(format!(
            "events:    {}",
            event_store_description(&args.backend, &args.common.data_dir)
        ));
        let validator = token_validator(&args.backend, &issuer)?;
        let mediator = Arc::new(Mediator::new(OrderHandlers::new(
            store.clone(),
            Arc::new(SystemClock),
        )));
        router = router.merge(orders_router(OrdersApi {
            mediator,
            validator,
            store,
        }));
        banner.push(format!("orders:    {base_url}/orders"));
        banner.push(format!("health:    {base_url}/health/ready"));
        Ok(Application {
            listener,
            router,
            base_url,
            banner,
        })
    }

    /// The orders service alone: its issuer must be configured.
    pub(crate) async fn orders(args: ServiceArgs) -> anyhow::Result<Self> {
        let issuer = args.backend.oidc_issuer.clone().context(
            "`orderflow orders` needs ORDERFLOW_OIDC_ISSUER (e.g. the URL `orderflow idp` prints)",
        )?;
        let listener = bind(args.common.listen).await?;
        let base_url = public_url(args.common.public_url.as_deref(), listener.local_addr()?);
        let store = open_event_store(&args.backend, &args.common.data_dir).await?;
        let validator = token_validator(&args.backend, &issuer)?;
        let mediator = Arc::new(Mediator::new(OrderHandlers::new(
            store.clone(),
            Arc::new(SystemClock),
        )));
        let router = orders_router(OrdersApi {
            mediator,
            validator,
            store,
        });
        let banner = vec![
            format!("identity:  {issuer}"),
            format!(
                "events:    {}",
                event_store_description(&args.backend, &args.common.data_dir)
            ),
            format!("orders:    {base_url}/orders"),
        ];
        Ok(Application {
            listener,
            router,
            base_url,
            banner,
        })
    }

    /// The dev issuer alone.
    pub(crate) async fn idp(args: IdpArgs) -> anyhow::Result<Self> {
        let listener = bind(args.common.listen).await?;
        let base_url = public_url(args.common.public_url.as_deref(), listener.local_addr()?);
        let dev_issuer = DevIssuer::load_or_create(
            &args.common.data_dir,
            DevIssuer::issuer_url_for_base(&base_url),
            args.users.as_deref(),
        )
        .await
        .context("cannot start the dev issuer")?;
        let banner = vec![format!("issuer:    {}", dev_issuer.issuer_url())];
        Ok(Application {
            listener,
            router: dev_issuer.router(),
            base_url,
            banner,
        })
    }

    pub(crate) fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` resolves, then finishes in-flight requests.
    pub(crate) async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        axum::serve(self.listener, self.router)
            .with_graceful_shutdown(shutdown)
            .await
            .context("the HTTP server failed")
    }
}
