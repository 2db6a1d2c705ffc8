//! Wiring the web console (`orderflow_console`) into `up` and `gateway`: `/`,
//! `/callback` and `/console/*`, pointed at the trusted issuer; and, in a gateway on its
//! own, forwarding the console's `/orders` and `/hubs` calls to the orders service and a
//! push hub, so the console needs one origin only.

use anyhow::Context;
use orderflow_auth::origin_of;
use orderflow_console::ConsoleConfig;
use orderflow_http::{Upstream, forwarding_router};

use super::Application;

impl Application {
    /// Serves the console, which signs in at `issuer`.
    pub(super) fn add_console(&mut self, issuer: &str) {
        let own = origin_of(&self.base_url).to_owned();
        let websocket = own
            .strip_prefix("http")
            .map(|rest| format!("ws{rest}"))
            .unwrap_or_default();
        let config = ConsoleConfig {
            issuer_url: issuer.to_owned(),
            connect_origins: vec![own, websocket, origin_of(issuer).to_owned()],
        };
        self.router = std::mem::take(&mut self.router).merge(orderflow_console::router(&config));
        self.banner.push(format!("console:   {}/", self.base_url));
    }

    /// Forwards everything under `prefix` to `upstream` (a base URL), when one is given.
    pub(super) fn forward_for_console(
        &mut self,
        prefix: &str,
        upstream: Option<&str>,
    ) -> anyhow::Result<()> {
        let Some(base_url) = upstream else {
            return Ok(());
        };
        let parsed = Upstream::parse(base_url)
            .map_err(anyhow::Error::msg)
            .with_context(|| format!("the upstream for {prefix}"))?;
        self.router = std::mem::take(&mut self.router).merge(forwarding_router(&[prefix], parsed));
        self.banner.push(format!(
            "forwards:  {}{prefix}/… to {base_url}",
            self.base_url
        ));
        Ok(())
    }
}
