//! The real-time side of orderflow: a push hub that the official SignalR clients use
//! unmodified.
//!
//! - [`hub_router`] serves `POST /hubs/push-updates/negotiate` (negotiate versions 0 and 1)
//!   and the WebSocket endpoint `/hubs/push-updates` (Text frames, the JSON hub protocol,
//!   handshake versions up to 2). Every request needs a valid access token; the user id of
//!   the token decides which pushes a connection receives.
//! - [`PushHub`] keeps user id → live connections (a user may have several tabs; all get the
//!   push) and [`PushHub::push`]es `PushUpdate(update)` to them as client-result invocations,
//!   reporting which connections acknowledged in a [`PushReport`]. A push is queued on every
//!   connection at once ([`PushHub::start_push`]) and its acknowledgements are awaited
//!   afterwards ([`PendingPush::finish`]), so no connection's silence delays another's push.
//! - [`start_push_relay`] consumes the bus: each delivery is queued in the broker's order,
//!   then awaited concurrently with the others (up to [`RELAY_IN_FLIGHT`]), and the broker is
//!   acknowledged when all its connections answered or timed out.
//! - Isolation: no connection, user or message can delay another user's push. A frozen tab
//!   fills only its own bounded outgoing buffer (messages and bytes), and is closed with an
//!   error when that is full; a client that never answers client results (`signalrcore`) is
//!   noticed after two timeouts and gets later pushes without an `invocationId`, counted
//!   `unacknowledged`; negotiations and connections are limited per user first, and per hub
//!   only as a last resort.
//! - Everything is bounded: message size, per-connection outgoing buffer and unanswered
//!   invocations, acknowledgements awaited across the hub, deliveries in flight, negotiated
//!   and live connections (per user and in all), and every wait.
//!
//! Not offered: the Server-Sent Events and Long Polling transports, MessagePack, stateful
//! reconnect, and client-to-server hub methods (an invocation gets a completion error).
//!
//! Module map: `protocol` (pure framing and messages), `negotiate`
//! (negotiated ids), `router` (HTTP and authentication), `handshake` (the first record),
//! `connection` (one task per socket), `handle` (a connection's bounded outgoing buffer and
//! awaited invocations), `registry` (who is connected), `hub` (push and shutdown), `relay`
//! (broker → hub).

#![cfg_attr(test, allow(clippy::unwrap_used))]

mod config;
mod connection;
mod error;
#[cfg(any(test, feature = "fuzzing"))]
#[doc(hidden)]
pub mod fuzzing;
mod handle;
mod handshake;
mod hub;
mod negotiate;
mod protocol;
mod registry;
mod relay;
mod report;
mod router;

pub use config::HubConfig;
pub use error::HubError;
pub use hub::{PUSH_UPDATE_METHOD, PendingPush, PushHub};
pub use orderflow_auth::redact_access_token;
pub use relay::{IN_FLIGHT as RELAY_IN_FLIGHT, PushRelay, start_push_relay};
pub use report::{ConnectionRef, Delivery, DeliveryFailure, FailureReason, PushReport};
pub use router::{HUB_PATH, NEGOTIATE_PATH, hub_router};
