//! Which slices each command runs: `up` (everything on one listener), and
//! the server-mode components `orders`, `gateway`, `push-hub` and `idp`.

use std::sync::Arc;

use anyhow::Context;
use orderflow_app::ports::bus::MessageBus;
use orderflow_auth::{DevIssuer, TokenValidator, TrustedProxies};
use orderflow_http::{gateway_router, gateway_routes};
use tokio::sync::watch;

use super::{Application, bind, configured_issuer};
use crate::adapters::{open_stores, public_url, token_validator};
use crate::cli::{DevIssuerArgs, GatewayArgs, IdpArgs, ServiceArgs, UpArgs};
use crate::health::health_router;

impl Application {
    /// Everything on one listener: the dev issuer (unless an external issuer
    /// is configured), the orders API with its push publisher, and the hub.
    pub(super) async fn up(args: UpArgs) -> anyhow::Result<Self> {
        let listener = bind(args.common.listen).await?;
        let base_url = public_url(args.common.public_url.as_deref(), listener.local_addr()?);
        let mut app = Application::new(listener, base_url, args.common.connection_limits());
        let issuer = match &args.backend.oidc_issuer {
            Some(issuer) => {
                app.banner.push(format!(
                    "identity:  {issuer} (ORDERFLOW_OIDC_ISSUER; the dev issuer is off)"
                ));
                issuer.clone()
            }
            None => {
                let dev_issuer = app
                    .dev_issuer(&args.common.data_dir, &args.dev_issuer)
                    .await?;
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
        app.add_console(&issuer);
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
        let mut app = Application::new(listener, base_url, args.common.connection_limits());
        app.banner.push(format!("identity:  {issuer}"));
        let validator = token_validator(&args.backend, &issuer)?;
        let bus = app.open_bus(&args.backend).await?;
        Ok((app, validator, bus))
    }

    /// The orders service alone: its issuer must be configured.
    pub(super) async fn orders(args: ServiceArgs) -> anyhow::Result<Self> {
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
    pub(super) async fn gateway(args: GatewayArgs) -> anyhow::Result<Self> {
        let GatewayArgs {
            service: args,
            orders_url,
            hub_url,
        } = args;
        let (mut app, validator, bus) = Self::component(&args, "gateway").await?;
        let gateway = app
            .add_gateway(&args.backend, &args.common.data_dir, validator, bus)
            .await?;
        app.router = gateway_router(gateway);
        let issuer = configured_issuer(&args.backend, "gateway")?;
        app.add_console(&issuer);
        app.forward_for_console("/orders", orders_url.as_deref())?;
        app.forward_for_console("/hubs", hub_url.as_deref())?;
        app.banner
            .push(format!("health:    {}/health/ready", app.base_url));
        Ok(app)
    }

    /// The push hub alone: its issuer must be configured.
    pub(super) async fn push_hub(args: ServiceArgs) -> anyhow::Result<Self> {
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
    pub(super) async fn idp(args: IdpArgs) -> anyhow::Result<Self> {
        let listener = bind(args.common.listen).await?;
        let base_url = public_url(args.common.public_url.as_deref(), listener.local_addr()?);
        let mut app = Application::new(listener, base_url, args.common.connection_limits());
        let dev_issuer = app
            .dev_issuer(&args.common.data_dir, &args.dev_issuer)
            .await?;
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

    /// The dev issuer whose key is in `data_dir`, issuing for this listener's base URL,
    /// configured by `args`.
    async fn dev_issuer(
        &self,
        data_dir: &std::path::Path,
        args: &DevIssuerArgs,
    ) -> anyhow::Result<DevIssuer> {
        let trusted_proxies =
            TrustedProxies::parse(&args.trusted_proxies).context("ORDERFLOW_TRUSTED_PROXIES")?;
        let dev_issuer = DevIssuer::load_or_create(
            data_dir,
            DevIssuer::issuer_url_for_base(&self.base_url),
            args.users.as_deref(),
        )
        .await
        .context("cannot start the dev issuer")?;
        Ok(dev_issuer
            .with_redirect_uris(args.redirect_uris.clone())
            .with_trusted_proxies(trusted_proxies))
    }
}
