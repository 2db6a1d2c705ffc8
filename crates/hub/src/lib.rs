//! The real-time side of orderflow: a push hub that the official SignalR clients use
//! unmodified.
//!
//! - [`hub_router`] serves `POST /hubs/push-updates/negotiate` (negotiate versions 0 and 1)
//!   and the WebSocket endpoint `/hubs/push-updates` (Text frames, the JSON hub protocol,
//!   handshake versions up to 2). Every request needs a valid access token; the user id of
//!   the token decides which pushes a connection receives, and a token with the `admin` role
//!   receives every push (admins may see every order).
//! - [`PushHub`] keeps user id → live connections (a user may have several tabs; all get the
//!   push), and admins' connections apart, and [`PushHub::push`]es `PushUpdate(update)` to them as client-result invocations,
//!   reporting which connections acknowledged in a [`PushReport`]. A push is queued on every
//!   connection at once ([`PushHub::start_push`]) and its acknowledgements are awaited
//!   afterwards ([`PendingPush::finish`]), so no connection's silence delays another's push.
//! - [`start_push_relay`] consumes the bus through the one consumer runner of
//!   `orderflow_app::messaging`, as a two-step handler: each delivery is queued in the
//!   broker's order, then awaited concurrently with the others (up to [`RELAY_IN_FLIGHT`]);
//!   the broker is acknowledged once the push is in the inbox, or, without one, when all its
//!   connections answered or timed out.
//! - With a durable inbox ([`PushHub::with_inbox`], the port
//!   [`orderflow_app::ports::PushInbox`]), the relay records each push for every subscriber
//!   before it acknowledges the broker, a connection's acknowledgement marks it acknowledged,
//!   and a user who connects (to any instance sharing the inbox) is replayed, oldest first,
//!   every push none of their connections acknowledged: offline, a frozen tab, a crashed or
//!   restarted instance lose nothing.
//! - Isolation: no connection, user or message can delay another user's push. A frozen tab
//!   fills only its own bounded outgoing buffer (messages and bytes), and is closed with an
//!   error when that is full; a client that never answers client results (`signalrcore`) is
//!   noticed after two timeouts and gets later pushes without an `invocationId`, counted
//!   `unacknowledged`; negotiations and connections are limited per user first, and per hub
//!   only as a last resort.
//! - Stateful reconnect (`withStatefulReconnect()` of the official clients): offered when
//!   negotiate is asked for it; a socket lost without a Close leaves the connection listed
//!   and resumable by its user on `?id=<connectionToken>` for
//!   [`HubConfig::disconnect_timeout`], its pushes kept for it; on the new socket
//!   unacknowledged messages are replayed after a `Sequence`, so every push arrives once, in
//!   order, on the same connection, and completions that arrive afterwards still count.
//! - Everything is bounded: message size, per-connection outgoing buffer and unanswered
//!   invocations, the bytes kept for a stateful reconnect, acknowledgements awaited across
//!   the hub, deliveries in flight, negotiated and live connections (per user and in all),
//!   and every wait.
//!
//! Not offered: the Server-Sent Events and Long Polling transports, MessagePack, and
//! client-to-server hub methods (an invocation gets a completion error).
//!
//! Module map: `protocol` (pure framing and messages), `negotiate`
//! (negotiated ids), `router` (HTTP and authentication), `handshake` (the first record),
//! `connection` (one task per connection, its sockets one after another), `live_socket`
//! (serving one socket), `socket` (bounded writes and goodbyes), `stateful` (resumable
//! connections, replay and waiting without a socket), `replay_buffer` (pure sequence and
//! acknowledgement bookkeeping), `handle` (a connection's bounded outgoing buffer and
//! awaited invocations), `registry` (who is connected), `hub` (push and shutdown), `relay`
//! (broker → hub), `inbox` (record, acknowledge, replay, prune).

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
mod inbox;
mod inbox_recording;
mod live_socket;
mod negotiate;
mod pending_push;
mod protocol;
mod registry;
mod relay;
mod replay_buffer;
mod report;
mod router;
#[cfg(test)]
mod scripted_inbox;
mod socket;
mod stateful;

pub use config::HubConfig;
pub use error::HubError;
pub use hub::{PUSH_UPDATE_METHOD, PushHub};
pub use orderflow_auth::redact_access_token;
pub use pending_push::PendingPush;
pub use relay::{IN_FLIGHT as RELAY_IN_FLIGHT, PushRelay, start_push_relay};
pub use report::{AcknowledgedPush, ConnectionRef, DeliveryFailure, FailureReason, PushReport};
pub use router::{HUB_PATH, NEGOTIATE_PATH, hub_router};
