//! orderflow as a library, with a thin `main`: [`Settings`] are loaded from
//! flags and `ORDERFLOW_*` variables, [`Application::build`] binds a
//! listener and wires `up` or one component, [`Application::run_until`]
//! serves it until a shutdown future resolves. Tests build the application
//! in process on port 0; cross-process tests run the binary.
//!
//! Module map: `cli` (every flag and variable), `settings` (what a process
//! runs), `application` (wiring, one file per slice), `adapters` (opening
//! the adapters the settings name), `subscriptions` (the event-store
//! subscriptions, declared once), `tunables` (fixed timings, named once),
//! `commands` (the one-shot commands), `prometheus` and `health`
//! (operations), `telemetry` (logs and traces), `shutdown` (signals).
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod adapters;
mod application;
pub mod cli;
mod commands;
mod health;
mod prometheus;
pub mod settings;
pub mod shutdown;
pub mod subscriptions;
pub mod telemetry;
mod tunables;

pub use application::Application;
pub use commands::run;
pub use settings::Settings;
