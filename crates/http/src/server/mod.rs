//! Serving a router on a TCP listener, with the limits a public listener needs.
//!
//! Guarantees:
//! * **Header read timeout.** A request's head (request line and headers) must
//!   arrive within [`ConnectionLimits::header_read_timeout`], counted from when
//!   the server starts waiting for it: a client trickling one byte a second, or
//!   one that connects and sends nothing, is disconnected when it runs out
//!   (hyper's HTTP/1 `header_read_timeout` on tokio's timer).
//! * **Idle timeout.** A connection on which no byte was read or written for
//!   [`ConnectionLimits::keep_alive_timeout`] is closed: at once between
//!   requests, after its response when a request is in flight.
//! * **Request deadline.** A request not answered within
//!   [`ConnectionLimits::request_deadline`] (a body trickling in keeps a connection busy
//!   without ever being idle) is answered 408 problem+json and its connection closed.
//! * **Connection cap.** At most [`ConnectionLimits::max_connections`]
//!   connections are open at once, WebSockets included (a connection's slot is
//!   released when its socket is dropped); further clients wait in the
//!   kernel's accept queue until a slot frees, nothing is refused.
//! * **Graceful shutdown.** When `shutdown` resolves, no connection is accepted
//!   any more, in-flight requests are finished and idle connections closed;
//!   `serve` returns when every HTTP connection is gone (upgraded ones are
//!   closed by their owner, e.g. the hub).
//! * **Header size.** Headers of more than [`MAX_HEADER_BYTES`] in all are answered
//!   431 problem+json (`headers_too_large`) before any route sees them. hyper itself cuts
//!   a request head off at [`HYPER_MAX_HEADER_BYTES`]: that 431 is written by hyper before
//!   the request exists, so it has an empty body and the connection is closed.
//! * Every request carries [`ConnectInfo`]`<SocketAddr>` of its peer.

mod deadline;
mod header_size;
mod watched_io;

use std::future::Future;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::Request;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tower::ServiceExt;

use deadline::within_deadline;
use header_size::refuse_oversized_headers;
pub use header_size::{HYPER_MAX_HEADER_BYTES, MAX_HEADER_BYTES};
use watched_io::{Activity, WatchedStream};

/// How long a listener waits for clients, and how many it holds at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// The longest a request's head may take to arrive.
    pub header_read_timeout: Duration,
    /// The longest a connection may sit without reading or writing a byte.
    pub keep_alive_timeout: Duration,
    /// The most connections open at once.
    pub max_connections: usize,
    /// The longest a request may take from its head to its answer.
    pub request_deadline: Duration,
}

impl ConnectionLimits {
    /// `ORDERFLOW_HEADER_READ_TIMEOUT_MS`'s default.
    pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
    /// `ORDERFLOW_KEEP_ALIVE_TIMEOUT_MS`'s default.
    pub const DEFAULT_KEEP_ALIVE_TIMEOUT: Duration = Duration::from_secs(5);
    /// `ORDERFLOW_MAX_CONNECTIONS`'s default: room for the 10,000 idle hub
    /// connections the benchmarks hold, and more.
    pub const DEFAULT_MAX_CONNECTIONS: usize = 16_384;
    /// `ORDERFLOW_REQUEST_DEADLINE_MS`'s default: beyond the API's own 30 s handler
    /// timeout ([`crate::REQUEST_TIMEOUT`]), so a slow handler is still a 503 there.
    pub const DEFAULT_REQUEST_DEADLINE: Duration = Duration::from_secs(60);
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            header_read_timeout: Self::DEFAULT_HEADER_READ_TIMEOUT,
            keep_alive_timeout: Self::DEFAULT_KEEP_ALIVE_TIMEOUT,
            max_connections: Self::DEFAULT_MAX_CONNECTIONS,
            request_deadline: Self::DEFAULT_REQUEST_DEADLINE,
        }
    }
}

/// How long the accept loop pauses after an error that is not one client's
/// (out of file descriptors), so it does not spin.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(100);

/// Serves `router` on `listener` under `limits` until `shutdown` resolves and
/// the connections are finished.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let router = router
        .layer(axum::middleware::from_fn_with_state(
            limits.request_deadline,
            within_deadline,
        ))
        .layer(axum::middleware::from_fn(refuse_oversized_headers));
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let (stop, stopped) = watch::channel(false);
    let (open, open_watch) = watch::channel(());
    let mut shutdown = pin!(shutdown);
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_closed) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    pause_after_accept_error(&error).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let connection = Connection {
            router: router.clone(),
            limits,
            peer,
            stopped: stopped.clone(),
            _open: open_watch.clone(),
        };
        tokio::spawn(connection.serve(stream, slot));
    }
    stop.send_replace(true);
    drop(listener);
    drop(open_watch);
    open.closed().await;
}

async fn pause_after_accept_error(error: &std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        error.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    tracing::warn!(%error, "cannot accept a connection");
    tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
}

/// One accepted connection and what it is served with.
struct Connection {
    router: Router,
    limits: ConnectionLimits,
    peer: SocketAddr,
    stopped: watch::Receiver<bool>,
    /// Dropped when the connection is done; `serve` waits for all of them.
    _open: watch::Receiver<()>,
}

impl Connection {
    async fn serve(mut self, stream: TcpStream, slot: OwnedSemaphorePermit) {
        let activity = Activity::new();
        let io = TokioIo::new(WatchedStream::new(stream, activity.clone(), slot));
        let peer = self.peer;
        let service = self
            .router
            .clone()
            .map_request(move |mut request: Request<Incoming>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                request.map(Body::new)
            });
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(self.limits.header_read_timeout)
            .max_header_size(HYPER_MAX_HEADER_BYTES);
        let mut connection = pin!(
            builder
                .serve_connection(io, TowerToHyperService::new(service))
                .with_upgrades()
        );
        let mut closing = false;
        loop {
            let idle_until = activity.last() + self.limits.keep_alive_timeout;
            tokio::select! {
                served = connection.as_mut() => {
                    if let Err(error) = served {
                        tracing::debug!(%error, peer = %self.peer, "connection ended with an error");
                    }
                    break;
                }
                _ = self.stopped.wait_for(|stopped| *stopped), if !closing => {
                    connection.as_mut().graceful_shutdown();
                    closing = true;
                }
                () = tokio::time::sleep_until(idle_until), if !closing => {
                    if activity.last() + self.limits.keep_alive_timeout <= tokio::time::Instant::now() {
                        connection.as_mut().graceful_shutdown();
                        closing = true;
                    }
                }
            }
        }
    }
}
