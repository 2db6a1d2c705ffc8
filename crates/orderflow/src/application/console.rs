//! Wiring the web console (`orderflow_console`) into `up` and `gateway`: `/`,
//! `/callback` and `/console/*`, pointed at the trusted issuer.

use orderflow_console::ConsoleConfig;

use super::Application;

impl Application {
    /// Serves the console, which signs in at `issuer`.
    pub(super) fn add_console(&mut self, issuer: &str) {
        let config = ConsoleConfig {
            issuer_url: issuer.to_owned(),
            base_url: self.base_url.clone(),
        };
        self.router = std::mem::take(&mut self.router).merge(orderflow_console::router(&config));
        self.banner.push(format!("console:   {}/", self.base_url));
    }
}
