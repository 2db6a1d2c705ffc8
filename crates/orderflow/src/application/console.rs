//! Wiring the web console (`orderflow_console`) into `up` and `gateway`: `/`,
//! `/callback` and `/console/*`, pointed at the trusted issuer.

use orderflow_auth::origin_of;
use orderflow_console::ConsoleConfig;

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
}
