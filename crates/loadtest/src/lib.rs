//! orderflow-loadtest: a small, honest HTTP/1.1 load generator for the benchmarks in
//! `docs/BENCHMARKS.md`.
//!
//! What it guarantees:
//! - it only ever talks to loopback addresses (`127.0.0.0/8`, `::1`, `localhost`);
//! - each worker owns exactly one keep-alive connection (reopened only when it breaks);
//! - with `--rate`, latency is measured from each request's *intended* send time, so a
//!   stalled server cannot hide its queue (no coordinated omission);
//! - every measured request ends up in exactly one bucket: an HTTP status or a transport
//!   error kind; non-2xx answers are reported, never silently measured as successes;
//! - a run is bounded in time and count and stops by itself.
//!
//! Layout: [`cli`] parses and validates the command line, [`target`] enforces the
//! loopback rule, [`token`] fetches a bearer token, [`schedule`] decides what each worker
//! sends next and [`pacer`] when (open loop), [`client`] performs one exchange, [`stats`]
//! accounts for it, [`run`] drives the workers and [`report`] prints the result.

pub mod cli;
pub mod client;
pub mod error;
pub mod pacer;
pub mod report;
pub mod run;
pub mod schedule;
pub mod stats;
pub mod stop;
pub mod target;
pub mod token;

pub use error::Error;
