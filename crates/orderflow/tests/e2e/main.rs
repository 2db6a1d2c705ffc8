//! End-to-end tests through the real `orderflow` binary: one test binary, so
//! the processes and the Node client are built once.
#![allow(clippy::unwrap_used, clippy::expect_used, unreachable_pub)]

mod cli;
mod console;
mod flows;
mod gateway;
mod health;
mod inbox;
mod metrics;
mod push_publisher;
mod raw_hub;
mod support;
mod traces;
