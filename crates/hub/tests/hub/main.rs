//! End-to-end tests of orderflow-hub over real sockets on 127.0.0.1 (port 0), with the dev
//! issuer on the same listener and tokens validated by HTTP discovery: negotiate and connect,
//! the JSON hub protocol on the wire, pushes, shutdown, and interop with the official
//! `@microsoft/signalr` client (Node), isolation: nobody's client delays another's pushes,
//! and the relay's in-flight gauge as a scrape shows it.

#![cfg_attr(test, allow(clippy::unwrap_used))]

mod in_flight;
mod inbox;
mod inbox_recording;
mod interop;
mod isolation;
mod negotiate;
mod protocol;
mod push;
mod relayed;
mod stateful;
mod support;
