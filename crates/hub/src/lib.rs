//! The real-time side of orderflow: a push hub that the official SignalR clients use
//! unmodified.
//!
//! - [`hub_router`] serves `POST /hubs/push-updates/negotiate` (negotiate versions 0 and 1)
//!   and the WebSocket endpoint `/hubs/push-updates` (Text frames, the JSON hub protocol,
//!   handshake versions up to 2). Every request needs a valid access token; the user id of
//!   the token decides which pushes a connection receives.
//! - [`PushHub`] keeps user id → live connections (a user may have several tabs; all get the
//!   push) and [`PushHub::push`]es `PushUpdate(update)` to them as client-result invocations,
//!   reporting which connections acknowledged in a [`PushReport`].
//! - Everything is bounded: message size, per-connection outbound queue and unanswered
//!   invocations, negotiated connections waiting for their socket, and every wait.
//!
//! Not offered: the Server-Sent Events and Long Polling transports, MessagePack, stateful
//! reconnect, and client-to-server hub methods (an invocation gets a completion error).
//!
//! Module map: `protocol` (pure framing and messages), `negotiate`
//! (negotiated ids), `router` (HTTP and authentication), `connection` (one task per socket),
//! `registry` (who is connected), `hub` (push and shutdown), `relay` (broker → hub).

#![cfg_attr(test, allow(clippy::unwrap_used))]

mod config;
mod connection;
mod error;
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
pub use relay::start_push_relay;
pub use report::{ConnectionRef, Delivery, DeliveryFailure, FailureReason, PushReport};
pub use router::{HUB_PATH, NEGOTIATE_PATH, hub_router};
