//! One client connection, from the WebSocket upgrade to its close: one task owns the
//! connection and, one after another, its sockets (several only with stateful reconnect).
//!
//! Guarantees:
//! - the handshake is answered before any other message is sent; the connection is listed
//!   in the registry (so pushes can reach it) just before that answer, so a client that has
//!   seen the answer receives every later push;
//! - the handshake is read and checked as `handshake` guarantees; a refused one is answered
//!   `{"error": …}` and the socket is closed, and so is a connection over its user's or the
//!   hub's limit (see `registry`);
//! - each socket is served as `live_socket` guarantees;
//! - a connection negotiated with stateful reconnect whose handshake asked for version 2
//!   survives a socket lost without a Close: it stays listed (pushes are kept for it) and
//!   resumable by its user for the disconnect timeout, as `stateful` guarantees; without it,
//!   the connection ends with its socket;
//! - when the connection ends, pushes waiting for its completions learn it at once.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::WebSocket;
use orderflow_auth::Principal;
use time::OffsetDateTime;
use tracing::Instrument;

use crate::handle::{CloseCause, ConnectionHandle, ConnectionMailbox};
use crate::handshake::{HandshakeFailure, handshake};
use crate::hub::HubState;
use crate::live_socket::{Ending, Serving};
use crate::protocol::{HANDSHAKE_OK, HandshakeError, RecordReader};
use crate::registry::AdmissionRefused;
use crate::report::ConnectionRef;
use crate::socket::{close_socket, goodbye, linger, refuse_handshake, send_text};
use crate::stateful::{Inactive, StatefulLink};

/// The first version of the `json` protocol with stateful reconnect.
const STATEFUL_RECONNECT_PROTOCOL_VERSION: u32 = 2;

/// The connection's entry in the registry; leaving it (even by unwinding) removes it.
#[derive(Debug)]
struct Registration {
    hub: Arc<HubState>,
    handle: Arc<ConnectionHandle>,
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.hub.registry.deregister(&self.handle);
    }
}

/// What the router learnt about a connection before its socket opened.
#[derive(Debug)]
pub(crate) struct Opening {
    /// The public connection id.
    pub(crate) connection_id: String,
    /// The connection token, when negotiate offered stateful reconnect.
    pub(crate) stateful_reconnect_token: Option<String>,
}

/// Serves one upgraded WebSocket for `principal` until the connection closes.
pub(crate) async fn run(
    socket: WebSocket,
    hub: Arc<HubState>,
    principal: Principal,
    opening: Opening,
) {
    let span = tracing::info_span!(
        "hub_connection",
        connection_id = %opening.connection_id,
        user_id = %principal.user_id
    );
    serve(socket, hub, principal, opening)
        .instrument(span)
        .await;
}

async fn serve(mut socket: WebSocket, hub: Arc<HubState>, principal: Principal, opening: Opening) {
    let config = hub.config.clone();
    let mut reader = RecordReader::new(config.max_message_bytes);

    let handshake = match handshake(&mut socket, &mut reader, config.handshake_timeout).await {
        Ok(handshake) => handshake,
        Err(HandshakeFailure::Gone) => {
            tracing::debug!("client left before the handshake");
            return;
        }
        Err(HandshakeFailure::TimedOut) => {
            tracing::info!("no handshake within the timeout; closing");
            close_socket(&mut socket, 1002, &config.send_timeout).await;
            return;
        }
        Err(HandshakeFailure::Refused(error)) => {
            tracing::info!(%error, "handshake refused");
            refuse_handshake(&mut socket, &error, config.send_timeout).await;
            return;
        }
    };
    // Listed before the handshake is answered, so a client that saw the answer is reachable
    // by pushes; anything queued meanwhile is written by this task only after the answer.
    let (handle, mut mailbox) = ConnectionHandle::new(
        ConnectionRef {
            user_id: principal.user_id.clone(),
            connection_id: opening.connection_id,
        },
        &config,
    );
    let registration = match hub.registry.register(handle.clone(), principal.is_admin()) {
        Ok(()) => Some(Registration {
            hub: hub.clone(),
            handle,
        }),
        Err(AdmissionRefused::ShuttingDown) => None,
        Err(refused) => {
            tracing::info!(%refused, "connection over its limit refused at the handshake");
            let error = HandshakeError::NotAdmitted(refused.to_string());
            refuse_handshake(&mut socket, &error, config.send_timeout).await;
            return;
        }
    };
    if send_text(&mut socket, HANDSHAKE_OK.to_owned(), config.send_timeout)
        .await
        .is_err()
    {
        return;
    }
    let Some(registration) = registration else {
        goodbye(&mut socket, &CloseCause::Shutdown, config.send_timeout).await;
        return;
    };
    // Stateful reconnect needs version 2 of the protocol, as in the reference server.
    let resumable = opening
        .stateful_reconnect_token
        .filter(|_| handshake.version >= STATEFUL_RECONNECT_PROTOCOL_VERSION)
        .map(|token| hub.resumptions.list(token, &principal.user_id));
    let (listing, mut stateful) = match resumable {
        Some((listing, resumed)) => (
            Some(listing),
            Some(StatefulLink::new(
                config.stateful_reconnect_buffer_bytes,
                resumed,
            )),
        ),
        None => (None, None),
    };
    tracing::info!(
        stateful_reconnect = stateful.is_some(),
        "hub connection opened"
    );
    // The user's missed pushes, oldest first, alongside the live ones.
    crate::inbox::replay(&hub, &registration.handle);

    let sockets = Sockets {
        serving: Serving {
            handle: &registration.handle,
            config: &config,
            stateful: stateful.as_mut(),
        },
        leeway: hub.validator.config().effective_leeway(),
    };
    let (socket, ending) = sockets
        .serve(
            socket,
            reader,
            handshake.early_records,
            &mut mailbox,
            principal,
        )
        .await;

    // Pushes waiting on this connection learn now that it is going.
    drop(listing);
    registration.handle.fail_pending();
    match (socket, ending) {
        (Some(mut socket), Ending::Close(cause)) => {
            tracing::info!(cause = cause.label(), error = ?cause.error_text(), "closing hub connection");
            goodbye(&mut socket, &cause, config.send_timeout).await;
        }
        (None, Ending::Close(cause)) => {
            tracing::info!(
                cause = cause.label(),
                "closing a hub connection that had no socket"
            );
        }
        (Some(mut socket), Ending::ClientGone) => {
            tracing::info!("client closed the hub connection");
            linger(&mut socket).await;
        }
        (_, Ending::NotResumed) => {
            tracing::info!("hub connection not resumed within the disconnect timeout");
        }
        (_, Ending::WriteFailed) => {
            tracing::info!("dropping hub connection: the client is not reading");
        }
        (_, other) => tracing::info!(ending = ?other, "hub connection ended"),
    }
    drop(registration);
}

/// The sockets of one connection, served one after another.
struct Sockets<'a> {
    serving: Serving<'a>,
    leeway: Duration,
}

impl Sockets<'_> {
    /// Serves `socket`, and with stateful reconnect the sockets that resume it, until the
    /// connection ends; returns the last socket if it is still open, and why it ended.
    async fn serve(
        mut self,
        mut socket: WebSocket,
        mut reader: RecordReader,
        early_records: Vec<String>,
        mailbox: &mut ConnectionMailbox,
        mut principal: Principal,
    ) -> (Option<WebSocket>, Ending) {
        let mut first = Ok(early_records);
        loop {
            let ending = match first {
                Err(ending) => ending,
                Ok(records) => {
                    self.serve_one(&mut socket, &mut reader, records, mailbox, &principal)
                        .await
                }
            };
            let Some(link) = self.serving.stateful.as_deref_mut() else {
                return (Some(socket), ending.without_resumption());
            };
            let resumed = match ending {
                Ending::Resumed(resumed) => resumed,
                lost if lost.socket_lost() => {
                    tracing::info!(ending = ?lost, "socket lost without a Close: the connection waits to be resumed");
                    drop(socket);
                    match link
                        .park(mailbox, self.serving.config.disconnect_timeout)
                        .await
                    {
                        Ok(resumed) => resumed,
                        Err(Inactive::NotResumed) => return (None, Ending::NotResumed),
                        Err(Inactive::Closed(cause)) => return (None, Ending::Close(cause)),
                    }
                }
                other => return (Some(socket), other),
            };
            socket = resumed.socket;
            principal = resumed.principal;
            reader = RecordReader::new(self.serving.config.max_message_bytes);
            first = match link
                .replay(&mut socket, self.serving.config.send_timeout)
                .await
            {
                Ok(()) => Ok(Vec::new()),
                Err(failed) => Err(Ending::from(failed)),
            };
        }
    }

    /// Serves one socket: the records that came with the handshake, then the socket itself.
    async fn serve_one(
        &mut self,
        socket: &mut WebSocket,
        reader: &mut RecordReader,
        records: Vec<String>,
        mailbox: &mut ConnectionMailbox,
        principal: &Principal,
    ) -> Ending {
        for record in records {
            if let Some(ending) = self.serving.on_record(&record, socket).await {
                return ending;
            }
        }
        let token_lifetime = until_expiry(principal, self.leeway);
        self.serving
            .run(socket, reader, mailbox, token_lifetime)
            .await
    }
}

/// How long the principal's token stays acceptable: until `exp` plus the validator's clock
/// leeway, as validation itself allows (zero when that has passed).
fn until_expiry(principal: &Principal, leeway: Duration) -> Duration {
    let remaining = Duration::try_from(principal.expires_at - OffsetDateTime::now_utc())
        .unwrap_or(Duration::ZERO);
    remaining.saturating_add(leeway)
}
